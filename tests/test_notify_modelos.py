"""Notifications (exactly once, read state, webhook delivered once with retries) and the
model in use (apply, rollback to the previous or the base model, Redis key)."""
from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from core.clock import utcnow
from core.db import session_scope
from core.db.tables import Cliente, Notificacao
from core.errors import InvalidInput
from core.finetune.deploy import (
    list_model_history,
    redis_model_key,
    rollback_model,
    set_active_model,
    write_model_to_redis,
)
from core.poller.notify import count_unread, create_notification, deliver_webhooks, list_notifications, mark_read
from tests.poll_helpers import make_cliente


def test_the_same_event_creates_one_notification(session):
    assert create_notification(session, chave="job:1:ok", tipo="t", titulo="Pronto")
    assert not create_notification(session, chave="job:1:ok", tipo="t", titulo="Pronto de novo")
    assert [n.titulo for n in list_notifications(session)] == ["Pronto"]


def test_unread_count_and_marking_read(session):
    for n in range(3):
        create_notification(session, chave=f"k{n}", tipo="t", titulo=f"N{n}")
    assert count_unread(session) == 3
    first = list_notifications(session)[0]
    assert mark_read(session, [first.id]) == 1
    assert count_unread(session) == 2
    assert len(list_notifications(session, unread_only=True)) == 2
    assert mark_read(session) == 2 and count_unread(session) == 0


class _Receiver:
    """A local webhook receiver that fails the first `failures` POSTs with HTTP 500."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.failures > 0:
                    receiver.failures -= 1
                    self.send_response(500)
                else:
                    receiver.received.append(body)
                    self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = _Receiver(failures=1)
    yield r
    r.close()


def test_the_webhook_gets_each_notification_once_after_a_retry(engine, receiver):
    cliente_id = make_cliente(engine, "padaria")
    with session_scope(engine) as session:
        create_notification(session, chave="fine_tuning:1:concluido", tipo="fine_tuning_concluido",
                            titulo="Fine-tuning concluído", cliente_id=cliente_id)
    clock = [utcnow()]
    first = deliver_webhooks(engine, url=receiver.url, now=lambda: clock[0])
    assert (first.enviadas, first.falhas, receiver.received) == (0, 1, [])
    # Not due yet: no second attempt in the same minute.
    assert deliver_webhooks(engine, url=receiver.url, now=lambda: clock[0]).enviadas == 0
    clock[0] += dt.timedelta(hours=2)
    assert deliver_webhooks(engine, url=receiver.url, now=lambda: clock[0]).enviadas == 1
    assert deliver_webhooks(engine, url=receiver.url, now=lambda: clock[0]).enviadas == 0
    assert [(p["chave"], p["cliente"]) for p in receiver.received] == [
        ("fine_tuning:1:concluido", "padaria")]
    with session_scope(engine) as session:
        note = session.scalars(select(Notificacao)).one()
    assert note.webhook_enviado_em is not None and note.webhook_tentativas == 2


def test_without_a_webhook_url_nothing_is_posted(engine, receiver):
    with session_scope(engine) as session:
        create_notification(session, chave="x", tipo="t", titulo="X")
    assert deliver_webhooks(engine).enviadas == 0 and receiver.received == []


def _apply(engine, cliente_id, modelo, motivo="fine_tuning"):
    with session_scope(engine) as session:
        cliente = session.get(Cliente, cliente_id)
        set_active_model(session, cliente, modelo, motivo=motivo, alterado_por="poller")
        write_model_to_redis(cliente)


def _cliente(engine, cliente_id) -> Cliente:
    with session_scope(engine) as session:
        return session.get(Cliente, cliente_id)


def test_rollback_restores_the_previous_model_then_the_base_model_in_db_and_redis(
        engine, redis_client, redis_prefix):
    cliente_id = make_cliente(engine, "padaria", redis_prefix)
    key = f"{redis_prefix}curadoria:modelo_ativo"
    _apply(engine, cliente_id, "ft:modelo-1")
    _apply(engine, cliente_id, "ft:modelo-2")
    assert redis_client.get(key) == b"ft:modelo-2"

    with session_scope(engine) as session:
        result = rollback_model(session, "padaria", usuario="ana")
    assert (result.modelo_anterior, result.modelo_novo) == ("ft:modelo-2", "ft:modelo-1")
    assert _cliente(engine, cliente_id).modelo_ativo == "ft:modelo-1"
    assert redis_client.get(key) == b"ft:modelo-1"

    with session_scope(engine) as session:
        result = rollback_model(session, "padaria", usuario="ana")
    cliente = _cliente(engine, cliente_id)
    assert result.modelo_novo is None and cliente.modelo_ativo is None
    assert redis_client.get(key) == cliente.modelo_base.encode()

    with session_scope(engine) as session:
        history = list_model_history(session, cliente_id)
        assert [(h.motivo, h.modelo_novo, h.alterado_por) for h in history] == [
            ("rollback_base", None, "ana"), ("rollback", "ft:modelo-1", "ana"),
            ("fine_tuning", "ft:modelo-2", "poller"), ("fine_tuning", "ft:modelo-1", "poller")]
        with pytest.raises(InvalidInput, match="já usa o modelo base"):
            rollback_model(session, "padaria", usuario="ana")


def test_rollback_to_base_skips_the_previous_fine_tune(engine, redis_client, redis_prefix):
    cliente_id = make_cliente(engine, "padaria", redis_prefix)
    _apply(engine, cliente_id, "ft:modelo-1")
    _apply(engine, cliente_id, "ft:modelo-2")
    with session_scope(engine) as session:
        rollback_model(session, "padaria", usuario="ana", to_base=True)
    cliente = _cliente(engine, cliente_id)
    assert cliente.modelo_ativo is None
    assert redis_client.get(redis_model_key(cliente)) == cliente.modelo_base.encode()


def test_a_cliente_without_redis_is_changed_in_the_database_only(engine):
    cliente_id = make_cliente(engine, "sem-redis")
    _apply(engine, cliente_id, "ft:modelo-1")
    with session_scope(engine) as session:
        result = rollback_model(session, "sem-redis", usuario="ana")
    assert result.redis_gravado is False and _cliente(engine, cliente_id).modelo_ativo is None
