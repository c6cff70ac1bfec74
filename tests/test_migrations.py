"""Migrations: each names the revision it follows, and each can be undone (both databases)."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from core.db import get_engine, upgrade_database
from core.db.migrate import alembic_config, downgrade_database
from core.db.tables import Base, include_in_schema_compare
from tests.conftest import PG_ADMIN_URL, _backends

SCRIPTS = list(ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions())


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.revision)
def test_every_migration_s_revises_line_names_its_down_revision(script):
    match = re.search(r"^Revises:[ \t]*(.*)$", script.module.__doc__ or "", re.MULTILINE)
    assert match, f"{script.path} has no 'Revises:' line"
    down = script.down_revision
    expected = ", ".join(down) if isinstance(down, tuple) else (down or "")
    assert match.group(1).strip() == expected


@pytest.fixture(params=_backends())
def fresh_url(request, tmp_path) -> Iterator[str]:
    """An empty database of its own (the round trip must not touch the shared one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ida-e-volta.db'}"
        return
    name = f"curadoria_migracoes_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _our_objects(engine) -> dict[str, set[str]]:
    """Tables, and on PostgreSQL the functions we create (extensions' own excluded)."""
    objects = {"tables": set(inspect(engine).get_table_names()) - {"alembic_version"}}
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            objects["functions"] = set(conn.scalars(text(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                " WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_depend d"
                " WHERE d.objid = p.oid AND d.deptype = 'e')")))
    else:
        with engine.connect() as conn:
            objects["triggers"] = set(conn.scalars(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'")))
    return objects


def test_the_schema_goes_up_then_down_to_nothing_then_up_again(fresh_url):
    head = upgrade_database(fresh_url)
    engine = get_engine(fresh_url)
    at_head = _our_objects(engine)
    assert at_head["tables"] and len(SCRIPTS) > 1

    assert downgrade_database(fresh_url, "base") == ""
    assert all(not found for found in _our_objects(engine).values()), _our_objects(engine)

    assert upgrade_database(fresh_url) == head
    assert _our_objects(engine) == at_head
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_in_schema_compare})
        assert compare_metadata(context, Base.metadata) == []


def test_each_migration_can_be_undone_one_at_a_time(fresh_url):
    upgrade_database(fresh_url)
    revisions = [s.revision for s in SCRIPTS]  # newest first
    for expected in revisions[1:] + [""]:
        assert downgrade_database(fresh_url) == expected
