"""Importing the bots' conversations from a real Redis into SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import func, select, text

from core.clientes.directory import ensure_cliente
from core.clientes.redis_source import mask_url
from core.clock import to_epoch_ms, utcnow
from core.db import session_scope
from core.db.tables import Conversa, EntradaRejeitada, Importacao, Mensagem, ModeloHistorico
from core.errors import InvalidInput
from core.ingest.phones import format_whatsapp
from core.ingest.parse import split_by_inactivity
from core.ingest.pipeline import ingest_all, ingest_cliente, list_rejected_entries
from tests.conftest import REDIS_TEST_URL

ROOT = Path(__file__).resolve().parent.parent
MIN = 60_000
NUMERO = "5511987654321"


class Bot:
    """Writes to Redis exactly as the bot's _storeMessage does (lists of keys)."""

    def __init__(self, client, prefix: str):
        self.client, self.prefix = client, prefix

    def store(self, sender: str, role: str, content: str, ts: int, **extra) -> str:
        key = f"conversation:{sender}:{ts}"
        payload = {"role": role, "content": content, "timestamp": ts, "phoneNumber": sender, **extra}
        self.client.set(self.prefix + key, json.dumps(payload, ensure_ascii=False), ex=3600)
        self.push(sender, key)
        return key

    def store_raw(self, sender: str, ts: int, value: bytes) -> str:
        key = f"conversation:{sender}:{ts}"
        self.client.set(self.prefix + key, value, ex=3600)
        self.push(sender, key)
        return key

    def push(self, sender: str, key: str) -> None:
        self.client.rpush(f"{self.prefix}user_messages:{sender}", self.prefix + key)
        self.client.rpush(f"{self.prefix}all_conversations", self.prefix + key)


@pytest.fixture
def bot(redis_client, redis_prefix) -> Bot:
    return Bot(redis_client, redis_prefix)


@pytest.fixture
def cliente(engine, redis_prefix) -> str:
    with session_scope(engine) as session:
        ensure_cliente(session, "loja", "Loja", redis_url=REDIS_TEST_URL, redis_prefix=redis_prefix,
                       modelo_base="gpt-4.1-mini-2025-04-14")
    return "loja"


def now_ms() -> int:
    return to_epoch_ms(utcnow())


def conversas(engine) -> list[Conversa]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Conversa).order_by(Conversa.iniciada_em)))


def mensagens(engine) -> list[Mensagem]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Mensagem).order_by(Mensagem.enviada_em, Mensagem.id)))


def dialogue(bot: Bot, start: int, turns: int = 2, sender: str = NUMERO) -> None:
    for i in range(turns):
        bot.store(sender, "user", f"pergunta {i}", start + i * 2 * MIN)
        bot.store(sender, "assistant", f"resposta {i}", start + i * 2 * MIN + 5_000)


# --- the split and the conversas ----------------------------------------------------------

def test_messages_of_one_number_are_split_into_conversas_by_inactivity(engine, cliente, bot):
    start = now_ms() - 5 * 3_600_000
    dialogue(bot, start)
    dialogue(bot, start + 2 * 3_600_000, turns=1)
    summary = ingest_cliente(engine, cliente)
    rows = conversas(engine)
    assert [c.total_mensagens for c in rows] == [4, 2]
    assert summary.conversas_novas == 2 and summary.mensagens_novas == 6
    assert all(c.whatsapp == NUMERO and c.status == "finalizada" for c in rows)
    assert format_whatsapp(rows[0].whatsapp) == "+55 11 98765-4321"


def test_suffixed_and_bare_forms_of_a_number_are_one_contact(engine, cliente, bot):
    start = now_ms() - 3_600_000
    bot.store(NUMERO + "@c.us", "user", "oi", start)
    bot.store(NUMERO + "@s.whatsapp.net", "assistant", "olá!", start + 1_000)
    bot.store(NUMERO, "user", "obrigado", start + 2_000)
    ingest_cliente(engine, cliente)
    [conversa] = conversas(engine)
    assert conversa.whatsapp == NUMERO and conversa.total_mensagens == 3
    assert [m.redis_key for m in mensagens(engine)][0] == f"conversation:{NUMERO}@c.us:{start}"


def test_a_same_millisecond_collision_keeps_the_surviving_message_once(engine, cliente, bot):
    ts = now_ms() - 3_600_000
    bot.store(NUMERO, "user", "qual o horário?", ts)
    bot.store(NUMERO, "assistant", "Abrimos às 8h.", ts)  # same key: the answer overwrote it
    summary = ingest_cliente(engine, cliente)
    assert [(m.role, m.conteudo) for m in mensagens(engine)] == [("assistant", "Abrimos às 8h.")]
    assert summary.lidas == 2 and summary.duplicadas == 1 and summary.mensagens_novas == 1


def test_list_entries_whose_key_expired_are_counted_and_skipped(engine, cliente, bot):
    ts = now_ms() - 3_600_000
    bot.push(NUMERO, f"conversation:{NUMERO}:{ts - 61 * 86_400_000}")  # gone after 60 days
    bot.store(NUMERO, "user", "oi", ts)
    summary = ingest_cliente(engine, cliente)
    assert summary.expiradas == 1 and summary.mensagens_novas == 1
    assert summary.lidas == summary.mensagens_novas + summary.duplicadas + summary.expiradas


def test_unrelated_keys_in_the_same_redis_are_never_imported(engine, cliente, bot, redis_client,
                                                             redis_prefix):
    ts = now_ms() - 3_600_000
    fake = json.dumps({"role": "user", "content": "não sou mensagem", "timestamp": ts})
    for name in ("first_message_5511", "tracking_5511", "waiting_cpf_5511", "pending_order_5511"):
        redis_client.set(redis_prefix + name, fake, ex=600)
    bot.store(NUMERO, "user", "oi", ts)
    summary = ingest_cliente(engine, cliente)
    assert summary.lidas == 1
    assert [m.conteudo for m in mensagens(engine)] == ["oi"]


def test_status_is_aguardando_ativa_or_finalizada(engine, cliente, bot):
    agora = now_ms()
    bot.store("5511900000001", "user", "alguém aí?", agora - 3 * 3_600_000)  # no answer came
    bot.store("5511900000002", "user", "oi", agora - 2 * MIN)
    bot.store("5511900000002", "assistant", "Olá!", agora - MIN)
    bot.store("5511900000003", "user", "oi", agora - 3 * 3_600_000)
    bot.store("5511900000003", "assistant", "Olá!", agora - 3 * 3_600_000 + 3_000)
    ingest_cliente(engine, cliente)
    status = {c.whatsapp: c.status for c in conversas(engine)}
    assert status == {"5511900000001": "aguardando", "5511900000002": "ativa",
                      "5511900000003": "finalizada"}


def test_modelo_usado_comes_from_the_message_or_the_model_in_use_then(engine, cliente, bot):
    agora = now_ms()
    with session_scope(engine) as session:
        loja = ensure_cliente(session, cliente)
        loja.modelo_ativo = "ft:gpt-4.1-mini:loja:v2"
        session.add(ModeloHistorico(cliente_id=loja.id, modelo_anterior=None,
                                    modelo_novo="ft:gpt-4.1-mini:loja:v2", motivo="aplicado",
                                    created_at=utcnow() - dt.timedelta(days=1)))
    bot.store("5511900000001", "user", "oi", agora - 3 * 86_400_000)
    bot.store("5511900000001", "assistant", "Olá!", agora - 3 * 86_400_000 + 1_000)
    bot.store("5511900000002", "user", "oi", agora - 3_600_000)
    bot.store("5511900000002", "assistant", "Olá!", agora - 3_600_000 + 1_000)
    bot.store("5511900000003", "user", "oi", agora - 3_600_000)
    bot.store("5511900000003", "assistant", "Olá!", agora - 3_600_000 + 1_000, model="gpt-x-teste")
    ingest_cliente(engine, cliente)
    modelos = {c.whatsapp: c.modelo_usado for c in conversas(engine)}
    assert modelos == {"5511900000001": "gpt-4.1-mini-2025-04-14",
                       "5511900000002": "ft:gpt-4.1-mini:loja:v2",
                       "5511900000003": "gpt-x-teste"}
    por_papel = {(m.role, m.modelo) for m in mensagens(engine)}
    assert ("user", None) in por_papel and ("assistant", "gpt-x-teste") in por_papel
    assert all(modelo for role, modelo in por_papel if role == "assistant")


# --- invalid entries ----------------------------------------------------------------------

def _payload(**fields) -> bytes:
    base = {"role": "user", "content": "oi", "timestamp": now_ms() - 3_600_000}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...}).encode()


INVALID = [
    ("json_invalido", b"isto nao e json {"),
    ("json_invalido", b'["uma", "lista"]'),
    ("campo_ausente", _payload(content=...)),
    ("campo_ausente", _payload(timestamp=...)),
    ("tipo_invalido", _payload(content=123)),
    ("tipo_invalido", _payload(timestamp="ontem")),
    ("role_desconhecido", _payload(role="system")),
    ("conteudo_vazio", _payload(content="   ")),
    ("utf8_invalido", b'{"role": "user", "content": "caf\xe9 \xff", "timestamp": 1760000000000}'),
    ("caractere_nulo", b'{"role": "user", "content": "a\x00b", "timestamp": 1760000000000}'),
    ("caractere_nulo", _payload(content="a\u0000b")),
    ("conteudo_grande", _payload(content="x" * 1_048_576)),
    ("timestamp_invalido", _payload(timestamp=42)),
]


@pytest.mark.parametrize("motivo, value", INVALID, ids=[f"{m}-{i}" for i, (m, _) in enumerate(INVALID)])
def test_each_kind_of_invalid_entry_is_counted_kept_for_inspection_and_the_import_goes_on(
        engine, cliente, bot, motivo, value):
    ts = now_ms() - 3_600_000
    bot.store(NUMERO, "user", "antes", ts)
    bad_key = bot.store_raw(NUMERO, ts + 1_000, value)
    bot.store(NUMERO, "assistant", "depois", ts + 2_000)
    summary = ingest_cliente(engine, cliente)
    assert summary.rejeitadas == {motivo: 1}
    assert [m.conteudo for m in mensagens(engine)] == ["antes", "depois"]
    with session_scope(engine) as session:
        [entry] = list_rejected_entries(session, cliente)
    assert entry.redis_key == bad_key and entry.motivo == motivo
    assert len(entry.trecho) <= 300 and "\x00" not in entry.trecho


def test_a_list_entry_that_is_not_a_message_key_is_rejected(engine, cliente, bot):
    bot.push(NUMERO, "tracking_5511987654321")
    summary = ingest_cliente(engine, cliente)
    assert summary.rejeitadas == {"chave_invalida": 1}


def test_a_rejected_entry_is_kept_once_however_many_runs_see_it(engine, cliente, bot):
    bot.store_raw(NUMERO, now_ms() - 3_600_000, b"nao e json")
    ingest_cliente(engine, cliente)
    with session_scope(engine) as session:
        session.execute(text("DELETE FROM importacoes"))  # lose the place: read it again
    assert ingest_cliente(engine, cliente).rejeitadas == {"json_invalido": 1}
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(EntradaRejeitada)) == 1


# --- incremental, idempotent, concurrent ------------------------------------------------

def test_a_second_run_adds_nothing(engine, cliente, bot):
    dialogue(bot, now_ms() - 3 * 3_600_000, turns=3)
    first = ingest_cliente(engine, cliente)
    second = ingest_cliente(engine, cliente)
    assert first.mensagens_novas == 6
    assert (second.lidas, second.mensagens_novas, second.conversas_novas) == (0, 0, 0)
    assert len(mensagens(engine)) == 6


def test_a_run_that_lost_its_place_rereads_everything_and_still_adds_nothing(engine, cliente, bot):
    dialogue(bot, now_ms() - 3 * 3_600_000, turns=3)
    dialogue(bot, now_ms() - 3 * 3_600_000, turns=1, sender="5521912345678")
    ingest_cliente(engine, cliente)
    with session_scope(engine) as session:
        session.execute(text("DELETE FROM importacoes"))
    again = ingest_cliente(engine, cliente)
    assert (again.lidas, again.duplicadas, again.mensagens_novas) == (8, 8, 0)
    assert again.conversas_novas == 0 and again.conversas_estendidas == 0
    assert [c.total_mensagens for c in conversas(engine)] == [6, 2]


def test_later_messages_extend_the_still_open_conversa(engine, cliente, bot):
    start = now_ms() - 20 * MIN
    bot.store(NUMERO, "user", "oi", start)
    bot.store(NUMERO, "assistant", "Olá! Como posso ajudar?", start + 3_000)
    ingest_cliente(engine, cliente)
    bot.store(NUMERO, "user", "qual o prazo de entrega?", start + 10 * MIN)
    summary = ingest_cliente(engine, cliente)
    [conversa] = conversas(engine)
    assert (summary.conversas_novas, summary.conversas_estendidas, summary.mensagens_novas) == (0, 1, 1)
    assert conversa.total_mensagens == 3 and conversa.status == "aguardando"
    assert to_epoch_ms(conversa.ultima_mensagem_em) == start + 10 * MIN


def test_a_search_right_after_an_import_finds_the_new_messages(engine, cliente, bot):
    from core.review.conversations import list_conversations
    from core.review.search_index import HL_END, HL_START, search_behind_since

    start = now_ms() - 20 * MIN
    bot.store(NUMERO, "user", "oi", start)
    bot.store(NUMERO, "assistant", "Olá! Como posso ajudar?", start + 3_000)
    ingest_cliente(engine, cliente)
    bot.store(NUMERO, "user", "Minhas entregas chegaram atrasadas", start + 10 * MIN)
    bot.store("5511911112222", "user", "quero um reembolso", start + 11 * MIN)
    ingest_cliente(engine, cliente)
    with session_scope(engine) as session:
        assert search_behind_since(session) is None
        [extended] = list_conversations(session, busca="entrega atrasada").conversas
        assert extended.total_mensagens == 3
        assert f"{HL_START}entregas{HL_END}" in extended.trecho
        assert list_conversations(session, busca="oi entregas").total == 1  # old and new text
        assert list_conversations(session, busca="reembolsos").total == 1


def test_messages_after_the_inactivity_window_start_a_new_conversa(engine, cliente, bot):
    start = now_ms() - 3 * 3_600_000
    dialogue(bot, start, turns=1)
    ingest_cliente(engine, cliente)
    dialogue(bot, start + 31 * MIN, turns=1)
    summary = ingest_cliente(engine, cliente)
    assert (summary.conversas_novas, summary.conversas_estendidas) == (1, 0)
    assert [c.total_mensagens for c in conversas(engine)] == [2, 2]


def test_an_active_conversa_becomes_finalizada_once_its_window_passes(engine, cliente, bot, settings,
                                                                       monkeypatch):
    agora = now_ms()
    bot.store(NUMERO, "user", "oi", agora - 10 * MIN)
    bot.store(NUMERO, "assistant", "Olá!", agora - 9 * MIN)
    ingest_cliente(engine, cliente)
    assert conversas(engine)[0].status == "ativa"
    monkeypatch.setattr(settings, "ingest_inatividade_minutos", 5)
    ingest_cliente(engine, cliente)
    assert conversas(engine)[0].status == "finalizada"


def test_two_runs_at_the_same_time_add_nothing_twice(engine, cliente, bot, backend):
    for n in range(30):
        dialogue(bot, now_ms() - 3 * 3_600_000 + n * 1_000, turns=2, sender=f"55119{n:08d}")
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(ingest_cliente(engine, cliente))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.mensagens_novas for r in results) == 120
    assert sum(r.conversas_novas for r in results) == 30
    assert len(mensagens(engine)) == 120
    assert sorted(c.total_mensagens for c in conversas(engine)) == [4] * 30


def test_two_processes_at_the_same_time_add_nothing_twice(engine, cliente, bot, settings, backend):
    if backend != "postgresql":
        pytest.skip("processes sharing one SQLite file are covered by the threads test")
    for n in range(50):
        dialogue(bot, now_ms() - 3 * 3_600_000 + n * 1_000, turns=2, sender=f"55219{n:08d}")
    code = "from core.db import get_engine; from core.ingest.pipeline import ingest_cliente; " \
           "s = ingest_cliente(get_engine(), 'loja'); print(s.mensagens_novas)"
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sum(int(o.strip()) for o in outputs) == 200
    assert len(mensagens(engine)) == 200
    with session_scope(engine) as session:
        assert session.scalar(select(func.sum(Conversa.total_mensagens))) == 200


# --- sources, all clientes, CLI ----------------------------------------------------------

def test_a_cliente_without_any_redis_cannot_be_imported(engine):
    with pytest.raises(InvalidInput, match="não tem Redis configurado"):
        ingest_cliente(engine, "sem-redis")


def test_ingest_all_reports_a_cliente_whose_redis_is_down_and_imports_the_others(engine, cliente, bot):
    dialogue(bot, now_ms() - 3_600_000, turns=1)
    with session_scope(engine) as session:
        ensure_cliente(session, "fora-do-ar", redis_url="redis://127.0.0.1:1/0")
        ensure_cliente(session, "sem-origem")
    results = {s.cliente: s for s in ingest_all(engine)}
    assert set(results) == {"loja", "fora-do-ar"}
    assert results["loja"].mensagens_novas == 2 and results["loja"].erro is None
    assert "não foi possível ler o Redis" in results["fora-do-ar"].erro
    assert "127.0.0.1:1" in results["fora-do-ar"].texto()
    with session_scope(engine) as session:
        erro = session.scalar(select(Importacao.erro).where(Importacao.erro.is_not(None)))
    assert erro == results["fora-do-ar"].erro


def test_the_summary_reads_as_one_portuguese_paragraph(engine, cliente, bot):
    start = now_ms() - 3_600_000
    bot.store_raw(NUMERO, start - 1_000, b"nao e json")
    dialogue(bot, start, turns=1)
    texto = ingest_cliente(engine, cliente).texto()
    assert texto.startswith("Importação de 'loja': 3 entradas lidas, 2 mensagens novas em 1 conversas")
    assert "1 rejeitadas (1 não é um objeto JSON)" in texto


def test_redis_passwords_are_hidden_in_what_is_shown():
    assert mask_url("redis://:segredo@host:6379/2") == "redis://:***@host:6379/2"
    assert mask_url("redis://host:6379/0") == "redis://host:6379/0"


def _cli(settings, *args):
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    env.pop("REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "core", "ingest", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_cli_imports_with_the_same_code_and_prints_the_summary(engine, cliente, bot, settings):
    dialogue(bot, now_ms() - 3_600_000, turns=2)
    result = _cli(settings, "--cliente", "loja", "--redis-url", REDIS_TEST_URL)
    assert result.returncode == 0, result.stderr
    assert "4 mensagens novas em 1 conversas novas" in result.stdout
    assert len(mensagens(engine)) == 4


def test_the_cli_creates_the_cliente_and_fails_cleanly_when_redis_is_down(engine, settings):
    result = _cli(settings, "--cliente", "nova-loja", "--redis-url", "redis://127.0.0.1:1/0")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "não foi possível ler o Redis" in result.stdout
    with session_scope(engine) as session:
        assert ensure_cliente(session, "nova-loja").redis_url == "redis://127.0.0.1:1/0"


# --- the split, for any input -------------------------------------------------------------

@hsettings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10 * 3_600_000), max_size=60),
       st.integers(min_value=1, max_value=3_600_000))
def test_the_split_loses_nothing_duplicates_nothing_keeps_order_and_respects_the_gap(stamps, gap):
    items = [(ts, i) for i, ts in enumerate(stamps)]
    groups = split_by_inactivity(items, gap, timestamp=lambda item: item[0])
    flat = [item for group in groups for item in group]
    assert flat == sorted(items, key=lambda item: item[0])  # all kept, once, stable order
    for group in groups:
        assert group and all(b[0] - a[0] <= gap for a, b in zip(group, group[1:]))
    for before, after in zip(groups, groups[1:]):
        assert after[0][0] - before[-1][0] > gap


def test_a_large_import_read_by_a_separate_process_gives_the_same_result(engine, cliente, bot, settings,
                                                                       monkeypatch):
    import core.ingest.pipeline

    monkeypatch.setattr(core.ingest.pipeline, "PROCESS_THRESHOLD", 1)
    monkeypatch.setattr(settings, "ingest_lote", 100)
    for n in range(40):
        dialogue(bot, now_ms() - 3 * 3_600_000 + n * 1_000, turns=3, sender=f"55319{n:08d}")
    bot.store_raw(NUMERO, now_ms() - 3_600_000, b"nao e json")
    summary = ingest_cliente(engine, cliente)
    assert (summary.lidas, summary.mensagens_novas, summary.conversas_novas) == (241, 240, 40)
    assert summary.rejeitadas == {"json_invalido": 1}
    assert sorted(c.total_mensagens for c in conversas(engine)) == [6] * 40



# --- the PostgreSQL fast path and the SQLite path give the same result ---------------------

def _load_demo(redis_client, redis_prefix: str, bot: Bot, conversas: int) -> None:
    """Demo conversas over ~60 days (many local days, suffixed numbers, same-millisecond
    collisions, expired keys) plus invalid entries, in the bot's format."""
    from core.demo.generate import generate_conversations, load_redis

    load_redis(redis_client, generate_conversations(conversas, seed=11), prefix=redis_prefix, seed=11)
    ts = now_ms() - 3_600_000
    bot.store_raw(NUMERO, ts, b"nao e json")
    bot.store_raw(NUMERO, ts + 1, _payload(role="system"))
    bot.push(NUMERO, "tracking_5511987654321")


def _as_text(value):
    """Times and days as SQLite keeps them (raw SQL returns text there)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _snapshot(engine) -> dict:
    """Everything an import writes, without database ids."""
    with engine.connect() as conn:
        def rows(sql: str) -> list[tuple]:
            return sorted(tuple(_as_text(v) for v in r) for r in conn.execute(text(sql)))
        return {
            "conversas": rows("SELECT whatsapp, iniciada_em, ultima_mensagem_em, dia, status, "
                              "modelo_usado, total_mensagens FROM conversas"),
            "mensagens": rows("SELECT m.redis_key, m.role, m.conteudo, m.enviada_em, m.modelo, "
                              "c.whatsapp, c.iniciada_em FROM mensagens m "
                              "JOIN conversas c ON c.id = m.conversa_id"),
            "rejeitadas": rows("SELECT redis_key, motivo, trecho FROM entradas_rejeitadas"),
            "resumo": rows("SELECT dia, status, avaliacao, total FROM conversas_resumo WHERE total <> 0"),
            "fila": rows("SELECT c.whatsapp, c.iniciada_em FROM analise_fila f "
                         "JOIN conversas c ON c.id = f.conversa_id"),
            "busca": _searches(engine),
        }


SEARCHES = ["entregas", "entrega atrasada", "atrasada entrega", "reembolso", "cancelar pedidos",
            "trocar tamanho", "boleto", "rastreio", "nota fiscal", "pix"]


def _searches(engine) -> dict:
    """What a search finds right after the import: (number, start) of each match."""
    from core.review.conversations import list_conversations

    found = {}
    with session_scope(engine) as session:
        for busca in SEARCHES:
            page = list_conversations(session, busca=busca, por_pagina=100)
            found[busca] = (page.total, sorted((c.whatsapp, _as_text(c.iniciada_em))
                                               for c in page.conversas))
    return found


def _counts(summary) -> tuple:
    return (summary.lidas, summary.mensagens_novas, summary.conversas_novas,
            summary.conversas_estendidas, summary.duplicadas, summary.expiradas, summary.rejeitadas)


def test_postgresql_fast_path_and_sqlite_import_the_same_input_identically(
        pg_url, sqlite_url, redis_client, redis_prefix, bot, monkeypatch):
    """PostgreSQL: reader process, binary COPY, chunks written over several connections by
    day shard. SQLite: reader thread, one connection, INSERT ... ON CONFLICT. Small chunks,
    so that numbers span chunks (conversas extended by a later chunk) and every chunk has
    conversas of several days."""
    import core.ingest.pipeline
    from core import config as config_module
    from core.db import get_engine, upgrade_database
    from tests.conftest import _backends, empty_database

    if {"sqlite", "postgresql"} - set(_backends()):
        pytest.skip("needs both backends")
    _load_demo(redis_client, redis_prefix, bot, conversas=150)
    monkeypatch.setenv("CURADORIA_INGEST_LOTE", "100")
    results = {}
    for url, threshold in ((sqlite_url, 10**9), (pg_url, 1)):
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setattr(core.ingest.pipeline, "PROCESS_THRESHOLD", threshold)
        config_module.reset_settings()
        try:
            upgrade_database(url)
            engine = get_engine(url)
            empty_database(engine)
            with session_scope(engine) as session:
                ensure_cliente(session, "loja", "Loja", redis_url=REDIS_TEST_URL, redis_prefix=redis_prefix,
                               modelo_base="gpt-4.1-mini-2025-04-14")
            first = ingest_cliente(engine, "loja")
            second = ingest_cliente(engine, "loja")
            snapshot = _snapshot(engine)
            with session_scope(engine) as session:
                session.execute(text("DELETE FROM importacoes"))  # lose the place: read it all again
            again = ingest_cliente(engine, "loja")
            assert _snapshot(engine) == snapshot
            assert (again.mensagens_novas, again.conversas_novas, again.conversas_estendidas) == (0, 0, 0)
            assert again.lidas == again.duplicadas + again.expiradas + again.total_rejeitadas
            results[engine.dialect.name] = (_counts(first), _counts(second), snapshot)
        finally:
            config_module.reset_settings()
    sqlite_result, pg_result = results["sqlite"], results["postgresql"]
    assert pg_result[0] == sqlite_result[0]
    assert pg_result[1] == sqlite_result[1] == (0, 0, 0, 0, 0, 0, {})
    for name in sqlite_result[2]:
        assert pg_result[2][name] == sqlite_result[2][name], name
    first = pg_result[0]
    assert first[1] == len(pg_result[2]["mensagens"]) > 900  # ~7 messages per conversa
    assert first[2] == len(pg_result[2]["conversas"]) and first[3] > 0  # some extended by a later chunk
    assert first[6] == {"chave_invalida": 1, "json_invalido": 1, "role_desconhecido": 1}
    assert len({c[3] for c in pg_result[2]["conversas"]}) > 20  # many local days: several shards
    assert sum(total > 0 for total, _ in pg_result[2]["busca"].values()) >= 5  # searches find things


def test_two_large_imports_at_the_same_time_add_nothing_twice(engine, cliente, bot, redis_client,
                                                              redis_prefix, settings, backend):
    """Two processes, each with a reader process and (on PostgreSQL) day-shard writers."""
    if backend != "postgresql":
        pytest.skip("processes sharing one SQLite file are covered by the threads test")
    _load_demo(redis_client, redis_prefix, bot, conversas=120)
    code = ("import core.ingest.pipeline as i; from core.db import get_engine; i.PROCESS_THRESHOLD = 1; "
            "s = i.ingest_cliente(get_engine(), 'loja'); print(s.mensagens_novas, s.conversas_novas)")
    env = {**os.environ, "DATABASE_URL": settings.database_url, "CURADORIA_INGEST_LOTE": "100"}
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    with session_scope(engine) as session:
        stored = session.scalar(select(func.count()).select_from(Mensagem))
        counted = session.scalar(select(func.sum(Conversa.total_mensagens)))
        n_conversas = session.scalar(select(func.count()).select_from(Conversa))
        empty = session.scalar(text("SELECT count(*) FROM conversas c WHERE NOT EXISTS "
                                    "(SELECT 1 FROM mensagens m WHERE m.conversa_id = c.id)"))
    assert sum(int(o[0]) for o in outputs) == stored == counted > 700
    assert sum(int(o[1]) for o in outputs) == n_conversas and empty == 0
