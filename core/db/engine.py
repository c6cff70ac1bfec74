"""Engine and sessions for PostgreSQL (production) and SQLite (embedded default)."""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from core.config import get_settings

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None


def normalize_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use psycopg 3 for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the dashboard read while the
    # poller or an import writes; busy_timeout waits instead of failing on a lock.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    """One engine per database URL for the whole process."""
    url = normalize_url(url or get_settings().database_url)
    if url not in _ENGINES:
        _ENGINES[url] = _create_engine(url)
    return _ENGINES[url]


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                         connect_args={"options": "-c timezone=UTC"})


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (tests, forks)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
    _session_factory.cache_clear()


@functools.lru_cache(maxsize=8)
def _session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextlib.contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = _session_factory(engine or get_engine())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


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


def _upgrade(engine: Engine, url: str | None, revision: str) -> str:
    """The Alembic upgrade itself; the caller holds `migration_lock`."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
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
