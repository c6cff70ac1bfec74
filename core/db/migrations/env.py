"""Alembic environment: the database comes from settings or from the caller's connection."""
from __future__ import annotations

from alembic import context

from core.config import get_settings
from core.db.engine import get_engine, normalize_url
from core.db.tables import Base, include_in_schema_compare

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return normalize_url(config.get_main_option("sqlalchemy.url") or get_settings().database_url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with get_engine(_url()).connect() as connection:
        _run(connection)
        connection.commit()


def _run(connection) -> None:
    # Batch mode lets later revisions ALTER tables on SQLite too.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, include_name=include_in_schema_compare)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
