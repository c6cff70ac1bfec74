"""The Importação page: edit the Redis source, import now, see summaries and rejected entries."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from core.clientes.directory import ensure_cliente, get_cliente
from core.clock import to_epoch_ms, utcnow
from core.db import session_scope
from core.db.tables import Mensagem
from tests.conftest import REDIS_TEST_URL
from tests.pages_helpers import logged_in_dashboard, shown

PAGE = "pages/screens/importacao.py"


def _store(redis_client, prefix, key_suffix, value: bytes) -> None:
    key = f"{prefix}conversation:{key_suffix}"
    redis_client.set(key, value, ex=600)
    redis_client.rpush(f"{prefix}all_conversations", key)


def _seed_redis(redis_client, prefix) -> None:
    ts = to_epoch_ms(utcnow()) - 3_600_000
    for offset, role, content in [(0, "user", "Oi, **negrito**?"), (2_000, "assistant", "Olá!")]:
        payload = {"role": role, "content": content, "timestamp": ts + offset}
        _store(redis_client, prefix, f"5511987654321:{ts + offset}", json.dumps(payload).encode())
    _store(redis_client, prefix, f"5511987654321:{ts + 5_000}", b"<b>nao e json</b>")


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def test_the_page_lists_each_cliente_with_its_source_and_no_import_yet(engine):
    with session_scope(engine) as session:
        ensure_cliente(session, "loja", "Loja da Ana", redis_url="redis://:segredo@10.0.0.5:6379/2")
    at = logged_in_dashboard(engine, page=PAGE)
    assert not at.exception
    assert at.title[0].value == "Importação"
    table = at.dataframe[0].value
    assert list(table["Cliente"]) == ["Loja da Ana"] and list(table["Quando"]) == ["nunca"]
    assert list(table["Origem"]) == ["URL própria"]  # the full origin below the table, masked
    origem = next(shown(c.value) for c in at.caption if "Origem atual" in shown(c.value))
    assert "segredo" not in origem and "***" in origem


def test_importar_agora_imports_and_shows_the_summary_and_the_rejected_entry(
        engine, redis_client, redis_prefix):
    _seed_redis(redis_client, redis_prefix)
    with session_scope(engine) as session:
        ensure_cliente(session, "loja", "Loja", redis_url=REDIS_TEST_URL, redis_prefix=redis_prefix)
    at = logged_in_dashboard(engine, page=PAGE)
    _button(at, "Importar agora").click()
    at.run()
    assert not at.exception
    [success] = at.success
    assert "2 mensagens novas em 1 conversas novas" in success.value.replace("\\", "")
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Mensagem)) == 2
    assert at.dataframe[0].value["Mensagens novas"][0] == 2
    rejected = at.dataframe[1].value
    assert list(rejected["Motivo"]) == ["não é um objeto JSON"]
    assert list(rejected["Trecho"]) == ["<b>nao e json</b>"]  # shown as text, not HTML


def test_a_redis_that_is_down_shows_the_error_in_portuguese(engine):
    with session_scope(engine) as session:
        ensure_cliente(session, "loja", "Loja", redis_url="redis://127.0.0.1:1/0")
    at = logged_in_dashboard(engine, page=PAGE)
    _button(at, "Importar agora").click()
    at.run()
    assert not at.exception
    assert "não foi possível ler o Redis" in at.error[0].value.replace("\\", "")


def test_the_source_can_be_edited_and_is_stored_with_the_cliente(engine):
    with session_scope(engine) as session:
        ensure_cliente(session, "loja", "Loja")
    at = logged_in_dashboard(engine, page=PAGE)
    url, prefixo = [t for t in at.text_input if t.label in ("URL do Redis", "Prefixo das chaves")]
    url.input("redis://127.0.0.1:6379")
    prefixo.input("loja1:")
    at.number_input[0].set_value(3)
    _button(at, "Salvar origem").click()
    at.run()
    assert not at.exception
    with session_scope(engine) as session:
        cliente = get_cliente(session, "loja")
        assert (cliente.redis_url, cliente.redis_db, cliente.redis_prefix) == \
            ("redis://127.0.0.1:6379", 3, "loja1:")


def test_an_invalid_source_is_refused_with_a_message(engine):
    with session_scope(engine) as session:
        ensure_cliente(session, "loja", "Loja")
    at = logged_in_dashboard(engine, page=PAGE)
    next(t for t in at.text_input if t.label == "URL do Redis").input("http://nao-e-redis")
    _button(at, "Salvar origem").click()
    at.run()
    assert "URL do Redis inválida" in at.error[0].value
    with session_scope(engine) as session:
        assert get_cliente(session, "loja").redis_url is None


def test_importar_agora_is_disabled_with_the_reason_when_the_cliente_has_no_source(engine, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    from core.config import reset_settings
    reset_settings()
    with session_scope(engine) as session:
        ensure_cliente(session, "loja", "Loja")
    at = logged_in_dashboard(engine, page=PAGE)
    assert not at.exception
    botao = _button(at, "Importar agora")
    assert botao.disabled and "não tem Redis configurado" in botao.help
    assert any("não tem Redis configurado" in c.value for c in at.caption)


def test_a_redis_error_is_told_in_portuguese_without_the_library_s_text(engine):
    with session_scope(engine) as session:
        ensure_cliente(session, "loja", "Loja", redis_url="redis://127.0.0.1:1/0")
    at = logged_in_dashboard(engine, page=PAGE)
    _button(at, "Importar agora").click()
    at.run()
    erro = at.error[0].value.replace("\\", "")
    assert "o Redis não respondeu" in erro
    assert "ConnectionError" not in erro and "Error 111" not in erro and "Connection refused" not in erro
