"""The schema: migrations equal the models, seed names exist, the database enforces rules."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from core.db.migrate import alembic_config
from core.db.tables import Base, include_in_schema_compare
from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parent.parent

SEED_FINE_TUNING_COLUMNS = {
    "id", "cliente_id", "openai_job_id", "status", "conversas_usadas", "modelo_base",
    "modelo_fine_tuned", "custo_estimado", "erro", "created_at", "completed_at",
}


def test_migrations_produce_exactly_the_models_schema(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_in_schema_compare})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_seed_fine_tuning_columns_and_indexes_exist_with_seed_names(engine):
    inspector = inspect(engine)
    columns = {c["name"] for c in inspector.get_columns("fine_tuning_jobs")}
    assert SEED_FINE_TUNING_COLUMNS <= columns
    indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("fine_tuning_jobs")}
    assert indexes["idx_fine_tuning_cliente"] == ["cliente_id"]
    assert indexes["idx_fine_tuning_status"] == ["status"]


def test_contract_columns_exist(engine):
    inspector = inspect(engine)
    cols = lambda t: {c["name"] for c in inspector.get_columns(t)}  # noqa: E731
    assert {"id", "nome", "slug", "whatsapp", "system_prompt", "modelo_base", "modelo_ativo",
            "redis_url", "redis_db", "redis_prefix"} <= cols("clientes")
    assert {"id", "cliente_id", "whatsapp", "iniciada_em", "ultima_mensagem_em", "status",
            "modelo_usado", "avaliacao", "avaliado_em", "avaliado_por"} <= cols("conversas")
    assert {"id", "conversa_id", "role", "conteudo", "enviada_em", "redis_key"} <= cols("mensagens")


def _insert_cliente(conn) -> int:
    conn.execute(text("INSERT INTO clientes (nome, slug) VALUES ('Loja', 'loja')"))
    return conn.execute(text("SELECT id FROM clientes WHERE slug = 'loja'")).scalar_one()


def _insert_conversa(conn, cliente_id, status="finalizada", avaliacao=None, inicio=None):
    inicio = inicio or dt.datetime(2026, 11, 1, 12, 0)
    conn.execute(
        text("INSERT INTO conversas (cliente_id, whatsapp, iniciada_em, ultima_mensagem_em, dia,"
             " status, avaliacao) VALUES (:c, '5511999990000', :i, :i, :d, :s, :a)"),
        {"c": cliente_id, "i": inicio, "d": inicio.date(), "s": status, "a": avaliacao},
    )


@pytest.mark.parametrize("column, value", [("avaliacao", "otima"), ("status", "fechada")])
def test_database_rejects_invalid_rating_or_status_written_in_sql(engine, column, value):
    with engine.begin() as conn:
        cliente_id = _insert_cliente(conn)
    kwargs = {"avaliacao": value} if column == "avaliacao" else {"status": value}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _insert_conversa(conn, cliente_id, **kwargs)


def test_database_rejects_unknown_role_and_orphan_message(engine):
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("INSERT INTO mensagens (conversa_id, cliente_id, role, conteudo,"
                          " enviada_em, redis_key) VALUES (999, 999, 'user', 'oi', :t, 'k')"),
                     {"t": dt.datetime(2026, 1, 1)})


def test_the_same_conversa_cannot_be_imported_twice(engine):
    with engine.begin() as conn:
        cliente_id = _insert_cliente(conn)
        _insert_conversa(conn, cliente_id)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _insert_conversa(conn, cliente_id)


def test_second_open_fine_tuning_job_for_a_cliente_is_rejected(engine):
    with engine.begin() as conn:
        cliente_id = _insert_cliente(conn)
        conn.execute(text("INSERT INTO fine_tuning_jobs (cliente_id, status) VALUES (:c, 'succeeded')"),
                     {"c": cliente_id})
        conn.execute(text("INSERT INTO fine_tuning_jobs (cliente_id, status) VALUES (:c, 'pending')"),
                     {"c": cliente_id})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("INSERT INTO fine_tuning_jobs (cliente_id, status) VALUES (:c, 'running')"),
                     {"c": cliente_id})


def _rollup(conn) -> dict:
    rows = conn.execute(text("SELECT status, avaliacao, sum(total) FROM conversas_resumo"
                             " GROUP BY status, avaliacao HAVING sum(total) <> 0"))
    return {(s, a): n for s, a, n in rows}


def test_rollup_stays_exact_when_ratings_are_written_directly_in_sql(engine):
    with engine.begin() as conn:
        cliente_id = _insert_cliente(conn)
        for minute in range(3):
            _insert_conversa(conn, cliente_id, inicio=dt.datetime(2026, 11, 1, 12, minute))
    with engine.begin() as conn:
        conn.execute(text("UPDATE conversas SET avaliacao = 'boa' WHERE id IN "
                          "(SELECT id FROM conversas ORDER BY id LIMIT 2)"))
        conn.execute(text("UPDATE conversas SET avaliacao = 'ruim' WHERE id = "
                          "(SELECT max(id) FROM conversas)"))
        conn.execute(text("DELETE FROM conversas WHERE id = (SELECT min(id) FROM conversas)"))
    with engine.connect() as conn:
        assert _rollup(conn) == {("finalizada", "boa"): 1, ("finalizada", "ruim"): 1}


def test_every_rating_change_leaves_an_audit_row_with_who_and_when(engine):
    with engine.begin() as conn:
        cliente_id = _insert_cliente(conn)
        _insert_conversa(conn, cliente_id)
        when = dt.datetime(2026, 11, 2, 9, 30)
        conn.execute(text("UPDATE conversas SET avaliacao = 'boa', avaliado_por = 'ana',"
                          " avaliado_em = :t"), {"t": when})
        conn.execute(text("UPDATE conversas SET avaliacao = NULL, avaliado_por = 'bruno'"))
        conn.execute(text("UPDATE conversas SET status = 'finalizada'"))  # not a rating change
        rows = conn.execute(text("SELECT avaliacao_anterior, avaliacao_nova, avaliado_por"
                                 " FROM avaliacoes_historico ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(None, "boa", "ana"), ("boa", None, "bruno")]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path) -> Iterator[str]:
    """An empty database nobody has migrated yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'novo.db'}"
        return
    name = f"curadoria_test_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_dashboard_and_poller_migrating_an_empty_database_at_once_both_succeed(fresh_url, tmp_path):
    # docker compose starts the dashboard and the poller together and both run
    # `python -m core migrate`: the loser of the race must wait, not die on
    # "relation already exists".
    env = {**os.environ, "DATABASE_URL": fresh_url,
           "CURADORIA_INITIAL_PASSWORD_FILE": str(tmp_path / "senha_inicial.txt")}
    procs = [subprocess.Popen([sys.executable, "-m", "core", "migrate"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0, err[-6000:]
        assert f"Banco atualizado (revisão {head_revision()})" in out
    first_access = [out for _, out, _ in results if "Primeiro acesso" in out]
    assert len(first_access) == 1  # one admin, one password file
    engine = create_engine(fresh_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
        assert conn.execute(text("SELECT count(*) FROM administradores")).scalar() == 1
    engine.dispose()
    senha = (tmp_path / "senha_inicial.txt").read_text(encoding="utf-8")
    assert senha.startswith("usuario: admin\nsenha: ")
