"""Notifications for the admins: in the dashboard and, optionally, a webhook.

Every event has a unique `chave` (e.g. ``job:12:succeeded``): creating the same
notification twice, from two pollers or after a crash, leaves one row. Webhook delivery
is claimed per attempt with a conditional UPDATE, so two pollers never POST the same
notification at once; a POST that succeeded is never repeated. Receivers may still dedupe
on `chave` (a process killed between a successful POST and its bookkeeping resends it).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.config import get_settings
from core.db import session_scope
from core.db.tables import Cliente, Notificacao
from core.logs import log_event

logger = logging.getLogger("curadoria.poller")

MAX_WEBHOOK_BACKOFF = dt.timedelta(hours=1)


def create_notification(session: Session, *, chave: str, tipo: str, titulo: str,
                        mensagem: str = "", cliente_id: int | None = None,
                        fine_tuning_job_id: int | None = None) -> bool:
    """Add a notification unless one with this `chave` exists; True when it was created."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Notificacao).values(
        chave=chave, tipo=tipo, titulo=titulo, mensagem=mensagem, cliente_id=cliente_id,
        fine_tuning_job_id=fine_tuning_job_id, created_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["chave"]).returning(Notificacao.id)
    return session.execute(stmt).scalar() is not None


def list_notifications(session: Session, *, limit: int = 20,
                       unread_only: bool = False) -> list[Notificacao]:
    """The newest notifications first."""
    query = select(Notificacao).order_by(Notificacao.created_at.desc(), Notificacao.id.desc())
    if unread_only:
        query = query.where(Notificacao.lida_em.is_(None))
    return list(session.scalars(query.limit(limit)))


def count_unread(session: Session) -> int:
    return session.scalar(select(func.count()).where(Notificacao.lida_em.is_(None))) or 0


def mark_read(session: Session, ids: list[int] | None = None) -> int:
    """Mark the given notifications (or all unread ones) as read; returns how many."""
    stmt = update(Notificacao).where(Notificacao.lida_em.is_(None)).values(lida_em=utcnow())
    if ids is not None:
        if not ids:
            return 0
        stmt = stmt.where(Notificacao.id.in_(ids))
    return session.execute(stmt).rowcount


def webhook_payload(session: Session, notificacao: Notificacao) -> dict:
    """The JSON body posted to the webhook."""
    cliente = session.get(Cliente, notificacao.cliente_id) if notificacao.cliente_id else None
    return {
        "chave": notificacao.chave,
        "tipo": notificacao.tipo,
        "titulo": notificacao.titulo,
        "mensagem": notificacao.mensagem,
        "cliente": cliente.slug if cliente else None,
        "fine_tuning_job_id": notificacao.fine_tuning_job_id,
        "criada_em": notificacao.created_at.isoformat() + "Z",
    }


def post_json(url: str, payload: dict, timeout: float) -> None:
    """POST a JSON body; raises on a network error or a non-2xx answer."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "curadoria-poller"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(url, response.status, "status", response.headers, None)


@dataclass
class WebhookSummary:
    enviadas: int = 0
    falhas: int = 0


def _backoff(tentativas: int) -> dt.timedelta:
    return min(dt.timedelta(seconds=30 * 2 ** max(tentativas - 1, 0)), MAX_WEBHOOK_BACKOFF)


def deliver_webhooks(engine: Engine, *, url: str | None = None,
                     post: Callable[[str, dict, float], None] = post_json,
                     now: Callable[[], dt.datetime] = utcnow) -> WebhookSummary:
    """POST every notification not yet delivered whose next attempt is due."""
    settings = get_settings()
    url = url or settings.webhook_url
    summary = WebhookSummary()
    if not url:
        return summary
    max_tentativas = settings.webhook_max_tentativas
    with session_scope(engine) as session:
        ids = list(session.scalars(
            select(Notificacao.id)
            .where(Notificacao.webhook_enviado_em.is_(None),
                   Notificacao.webhook_tentativas < max_tentativas,
                   or_(Notificacao.webhook_proxima_em.is_(None),
                       Notificacao.webhook_proxima_em <= now()))
            .order_by(Notificacao.id)
        ))
    for notificacao_id in ids:
        with session_scope(engine) as session:
            agora = now()
            # Claim this attempt: only one poller passes this conditional UPDATE.
            claimed = session.execute(
                update(Notificacao)
                .where(Notificacao.id == notificacao_id,
                       Notificacao.webhook_enviado_em.is_(None),
                       Notificacao.webhook_tentativas < max_tentativas,
                       or_(Notificacao.webhook_proxima_em.is_(None),
                           Notificacao.webhook_proxima_em <= agora))
                .values(webhook_tentativas=Notificacao.webhook_tentativas + 1,
                        webhook_proxima_em=agora + dt.timedelta(minutes=5))
            ).rowcount
            if not claimed:
                continue
            notificacao = session.get(Notificacao, notificacao_id)
            payload = webhook_payload(session, notificacao)
            tentativas = notificacao.webhook_tentativas
        try:
            post(url, payload, settings.webhook_timeout_seconds)
        except Exception as exc:  # noqa: BLE001 - any failure is retried later
            summary.falhas += 1
            with session_scope(engine) as session:
                session.execute(update(Notificacao).where(Notificacao.id == notificacao_id).values(
                    webhook_erro=str(exc)[:1000], webhook_proxima_em=now() + _backoff(tentativas)))
            log_event(logger, "webhook_falhou", notificacao=notificacao_id,
                      chave=payload["chave"], tentativa=tentativas, erro=str(exc),
                      level=logging.WARNING)
            continue
        summary.enviadas += 1
        with session_scope(engine) as session:
            session.execute(update(Notificacao).where(Notificacao.id == notificacao_id).values(
                webhook_enviado_em=now(), webhook_erro=None, webhook_proxima_em=None))
        log_event(logger, "webhook_enviado", notificacao=notificacao_id, chave=payload["chave"])
    return summary
