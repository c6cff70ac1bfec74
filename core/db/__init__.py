"""The database: engine and sessions, migrations, tables.

Re-exports the three names almost every caller needs; everything else is imported from
its module (core.db.engine, core.db.migrate, core.db.tables).
"""
from core.db.engine import get_engine, session_scope
from core.db.migrate import upgrade_database
# Tables that live in their own modules: imported here so Base.metadata is always complete.
from core.db import tables_analise, tables_avaliacao, tables_busca, tables_correcoes, tables_sessoes  # noqa: E402,F401

__all__ = ["get_engine", "session_scope", "upgrade_database"]
