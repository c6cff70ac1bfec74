"""The database: engine and sessions, migrations, tables.

Re-exports the three names almost every caller needs; everything else is imported from
its module (core.db.engine, core.db.migrate, core.db.tables).
"""
from core.db.engine import get_engine, session_scope
from core.db.migrate import upgrade_database

__all__ = ["get_engine", "session_scope", "upgrade_database"]
