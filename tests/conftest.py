"""Shared fixtures: real databases (SQLite and PostgreSQL) and a real Redis.

Every test that asks for `engine` or `session` runs once per backend in
CURADORIA_TEST_BACKENDS (default "sqlite,postgresql"). PostgreSQL gets a fresh
database per test session (and per xdist worker); tables are emptied between tests.
Redis tests get a unique key prefix and only ever delete their own keys.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from core import clock
from core import config as config_module
from core.db import get_engine, session_scope, upgrade_database
from core.db.engine import dispose_engines
from core.db.tables import Base

# The calendar day the fixtures were written on. Dates that decide something (OpenAI's
# cut-off on 2027-01-06, the shutdown of gpt-4.1 and gpt-4o on 2027-01-14) are read from
# core.clock.today, pinned here for the tests and, through tests/hoje/sitecustomize.py,
# for the poller and dashboard processes they start: the suite passes on any day.
HOJE_DOS_TESTES = dt.date(2026, 12, 3)
os.environ["CURADORIA_TESTE_HOJE"] = HOJE_DOS_TESTES.isoformat()
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(Path(__file__).parent / "hoje"), os.environ.get("PYTHONPATH")]))


@pytest.fixture(autouse=True)
def _hoje_dos_testes(monkeypatch) -> None:
    monkeypatch.setattr(clock, "today", lambda: HOJE_DOS_TESTES)


PG_ADMIN_URL = os.environ.get("CURADORIA_TEST_PG_ADMIN_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("CURADORIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _backends() -> list[str]:
    raw = os.environ.get("CURADORIA_TEST_BACKENDS", "sqlite,postgresql")
    return [b.strip() for b in raw.split(",") if b.strip()]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A brand-new PostgreSQL database for this test session, dropped at the end."""
    name = f"curadoria_test_{_worker()}_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'curadoria.db'}"


@pytest.fixture(scope="session", params=_backends())
def migrated_url(request) -> str:
    """A database URL at the newest schema, one per backend."""
    url = request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")
    upgrade_database(url)
    return url


def empty_database(engine: Engine) -> None:
    """Delete every row (keeps the schema and its triggers)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def settings(migrated_url, monkeypatch, tmp_path):
    """Settings pointing at the test database, with files under tmp_path.

    The evaluation gate is off (a succeeded job is applied at once, as the tests written
    before it expect); tests of the gate turn it on with CURADORIA_AVALIACAO_ATIVA=true.
    Subprocesses started by a test inherit this environment."""
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    monkeypatch.setenv("CURADORIA_AVALIACAO_ATIVA", "false")
    monkeypatch.setenv("CURADORIA_INITIAL_PASSWORD_FILE", str(tmp_path / "senha_inicial.txt"))
    monkeypatch.setenv("CURADORIA_FINE_TUNING_DIR", str(tmp_path / "ft"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    config_module.reset_settings()
    yield config_module.get_settings()
    config_module.reset_settings()


@pytest.fixture
def engine(settings, migrated_url) -> Engine:
    """The migrated test database, emptied before the test."""
    engine = get_engine(migrated_url)
    empty_database(engine)
    # Screens cache query results per database URL (st.cache_data, 60 s); every test's
    # database has the same URL, so one test's cached answer must not reach the next.
    import streamlit as st
    st.cache_data.clear()
    return engine


@pytest.fixture
def session(engine) -> Iterator[Session]:
    """A session on the test database; committed at the end of the test if no error."""
    with session_scope(engine) as session:
        yield session


@pytest.fixture
def backend(engine) -> str:
    return engine.dialect.name


@pytest.fixture
def redis_client() -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(REDIS_TEST_URL)
    client.ping()
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards (never FLUSHDB)."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}*", count=1000))
    for start in range(0, len(keys), 1000):
        redis_client.delete(*keys[start:start + 1000])


@pytest.fixture
def fake_openai(monkeypatch) -> Iterator["FakeOpenAI"]:
    """A local server that behaves like the OpenAI API; the SDK is pointed at it."""
    from tests.fake_openai import FakeOpenAI

    fake = FakeOpenAI().start()
    monkeypatch.setenv("OPENAI_API_KEY", fake.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    # Fast failures in tests: few retries, short timeout (the settings' env vars).
    monkeypatch.setenv("CURADORIA_OPENAI_MAX_RETRIES", "0")
    monkeypatch.setenv("CURADORIA_OPENAI_TIMEOUT_SECONDS", "2")
    config_module.reset_settings()
    yield fake
    fake.stop()
    config_module.reset_settings()
