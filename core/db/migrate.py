"""Schema migrations: Alembic upgrades under a cross-process lock, and the first admin."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

from core.config import get_settings
from core.db.engine import get_engine, is_postgres, normalize_url, session_scope

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None


def alembic_config(url: str | None = None):
    """Alembic's config pointing at core/db/migrations and the given database."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", normalize_url(url or get_settings().database_url).replace("%", "%%"))
    return config


MIGRATION_LOCK_KEY = 7303_0001  # pg_advisory_lock key held while migrating


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Serialize schema upgrades (and the first-admin bootstrap) across processes.

    The dashboard and the poller both migrate when they start (docker compose starts them
    together); without this the loser of the race fails on "relation already exists".
    PostgreSQL: a session advisory lock. SQLite: an exclusive lock on a file beside the
    database (SQLite's own locks do not cover a whole multi-statement Alembic run).
    """
    if is_postgres(engine):
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or fcntl is None:
        yield
        return
    with open(f"{database}.migrate.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade_database(url: str | None = None, revision: str = "heads") -> str:
    """Bring the database to the newest schema (or `revision`); returns the revision it is at.

    Safe to call from several processes at once: they take turns (see `migration_lock`).
    """
    engine = get_engine(url)
    with migration_lock(engine):
        return _upgrade(engine, url, revision)


def downgrade_database(url: str | None = None, revision: str = "-1") -> str:
    """Undo migrations down to `revision` ("base" = an empty database; default: the last
    one); returns the revision it is at ('' at base). Takes turns like the upgrade."""
    engine = get_engine(url)
    with migration_lock(engine):
        return _upgrade(engine, url, revision, down=True)


def _upgrade(engine: Engine, url: str | None, revision: str, down: bool = False) -> str:
    """The Alembic upgrade (or downgrade) itself; the caller holds `migration_lock`."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
    with engine.connect() as connection:
        return ",".join(MigrationContext.configure(connection).get_current_heads())


def prepare_database(url: str | None = None) -> tuple[str, Path | None]:
    """Migrate to the newest schema and, on a database with no administrator, create the
    first one. Returns (revision, path of the one-time password file or None).

    Both steps run under `migration_lock`, so processes starting together (dashboard,
    poller, CLI) take turns and exactly one of them creates the first administrator.
    """
    from core.auth import ensure_initial_admin

    engine = get_engine(url)
    with migration_lock(engine):
        revision = _upgrade(engine, url, "heads")
        with session_scope(engine) as session:
            path = ensure_initial_admin(session)
    return revision, path
