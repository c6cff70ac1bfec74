"""Dashboard login sessions that survive reloads and new tabs.

After a login the dashboard opens a row in `sessoes` and hands the page a one-time entry
ticket; the page posts it to the server's own route (app.py), which exchanges it for the
session token and sets it as a signed, expiring, HttpOnly cookie. Any later page load
(F5, a new tab, a shared link) presents that cookie and is logged in again.

Only sha256 hashes of the ticket and the token are stored. A session ends when it is
revoked ("Sair", a password change), unused for `sessao_inativa_horas`, older than
`SESSION_MAX_DAYS`, or when its account is deactivated or its password changed by any
means (the password stamp taken at login no longer matches).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from core.auth import session_stamp
from core.clock import utcnow
from core.config import Settings, get_settings
from core.db.tables import Administrador
from core.db.tables_sessoes import Sessao

log = logging.getLogger("curadoria.login_sessions")

COOKIE_NAME = "curadoria_sessao"
SESSION_MAX_DAYS = 30
TICKET_SECONDS = 120  # the page exchanges its ticket right after the login
TOUCH_SECONDS = 60  # last use is written at most once a minute per session
_TOKEN_BYTES = 32
_SIG_HEX = 32
_KEY_FILE = "sessao_segredo.key"


@dataclass(frozen=True)
class OpenedSession:
    """A new session: its row id (the tab keeps it) and the one-time ticket for the cookie."""

    sessao_id: int
    ticket: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def signing_key(settings: Settings | None = None) -> bytes:
    """The cookie signing key: the setting, or a random key kept in a private file."""
    settings = settings or get_settings()
    if settings.sessao_segredo is not None and settings.sessao_segredo.get_secret_value():
        return settings.sessao_segredo.get_secret_value().encode()
    path = Path(settings.initial_password_file).parent / _KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process (the dashboard and the poller) won the race
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as file:
        file.write(key)
    return key


def _signature(token: str, settings: Settings | None) -> str:
    return hmac.new(signing_key(settings), token.encode(), hashlib.sha256).hexdigest()[:_SIG_HEX]


def cookie_value(token: str, settings: Settings | None = None) -> str:
    """'<token>.<signature>': a cookie the server can reject before any database lookup."""
    return f"{token}.{_signature(token, settings)}"


def token_from_cookie(value: str | None, settings: Settings | None = None) -> str | None:
    """The token of a well-formed cookie with a valid signature, else None."""
    if not value or len(value) > 200 or value.count(".") != 1:
        return None
    token, signature = value.split(".")
    if not token or not hmac.compare_digest(_signature(token, settings), signature):
        return None
    return token


def open_session(session: Session, admin: Administrador,
                 now: dt.datetime | None = None) -> OpenedSession:
    """A new session for an admin who just logged in (or changed the password)."""
    now = now or utcnow()
    _purge(session, now)
    ticket = secrets.token_urlsafe(_TOKEN_BYTES)
    row = Sessao(administrador_id=admin.id, entrada_hash=_digest(ticket),
                 carimbo_senha=session_stamp(admin), criada_em=now, ultimo_uso_em=now,
                 expira_em=now + dt.timedelta(days=SESSION_MAX_DAYS))
    session.add(row)
    session.flush()
    return OpenedSession(sessao_id=row.id, ticket=ticket)


def _purge(session: Session, now: dt.datetime) -> None:
    """Forget sessions that can never be used again (kept a week after they ended, for
    whoever looks at the table), and tickets never exchanged."""
    week = now - dt.timedelta(days=7)
    session.execute(delete(Sessao).where(or_(
        Sessao.expira_em < week, Sessao.revogada_em < week,
        and_(Sessao.token_hash.is_(None), Sessao.criada_em < now - dt.timedelta(days=1)))))


def exchange_ticket(session: Session, ticket: str, now: dt.datetime | None = None,
                    settings: Settings | None = None) -> tuple[str, int] | None:
    """The cookie value and its lifetime in seconds for a fresh, unused ticket; None for
    any other (used, expired, revoked, unknown). A ticket works once, even if two
    requests bring it at the same moment (conditional UPDATE)."""
    now = now or utcnow()
    if not ticket or len(ticket) > 100:
        return None
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    row = session.execute(
        update(Sessao)
        .where(Sessao.entrada_hash == _digest(ticket), Sessao.token_hash.is_(None),
               Sessao.revogada_em.is_(None),
               Sessao.criada_em >= now - dt.timedelta(seconds=TICKET_SECONDS))
        .values(token_hash=_digest(token), entrada_hash=None, ultimo_uso_em=now)
        .returning(Sessao.expira_em)
    ).first()
    if row is None:
        return None
    lifetime = max(1, int((row.expira_em - now).total_seconds()))
    return cookie_value(token, settings), lifetime


def _valid(session: Session, row: Sessao | None, settings: Settings,
           now: dt.datetime) -> Administrador | None:
    if row is None or row.revogada_em is not None or row.expira_em <= now:
        return None
    if row.ultimo_uso_em + dt.timedelta(hours=settings.sessao_inativa_horas) <= now:
        return None
    admin = session.get(Administrador, row.administrador_id)
    if admin is None or not admin.ativo:
        return None
    if not hmac.compare_digest(session_stamp(admin), row.carimbo_senha):
        return None
    if (now - row.ultimo_uso_em).total_seconds() >= TOUCH_SECONDS:
        row.ultimo_uso_em = now
    return admin


def check_session_id(session: Session, sessao_id: int | None, settings: Settings | None = None,
                     now: dt.datetime | None = None) -> Administrador | None:
    """The admin behind the session a tab holds, or None when that session has ended."""
    if not sessao_id:
        return None
    return _valid(session, session.get(Sessao, sessao_id), settings or get_settings(),
                  now or utcnow())


def check_cookie(session: Session, value: str | None, settings: Settings | None = None,
                 now: dt.datetime | None = None) -> tuple[int, Administrador] | None:
    """(session id, admin) for a valid cookie; None for a forged, unknown or ended one."""
    settings = settings or get_settings()
    token = token_from_cookie(value, settings)
    if token is None:
        return None
    row = session.scalar(select(Sessao).where(Sessao.token_hash == _digest(token)))
    admin = _valid(session, row, settings, now or utcnow())
    return (row.id, admin) if admin is not None else None


def revoke(session: Session, sessao_id: int | None, now: dt.datetime | None = None) -> None:
    """End one session ("Sair"): every tab holding it goes back to the login form."""
    if sessao_id:
        session.execute(update(Sessao).where(Sessao.id == sessao_id, Sessao.revogada_em.is_(None))
                        .values(revogada_em=now or utcnow()))


def revoke_cookie(session: Session, value: str | None, settings: Settings | None = None) -> None:
    """End the session a cookie names (the server's logout route)."""
    token = token_from_cookie(value, settings)
    if token is not None:
        session.execute(update(Sessao).where(Sessao.token_hash == _digest(token),
                                             Sessao.revogada_em.is_(None))
                        .values(revogada_em=utcnow()))


def revoke_all(session: Session, administrador_id: int, now: dt.datetime | None = None) -> int:
    """End every session of an admin (a password change); returns how many were open."""
    result = session.execute(update(Sessao).where(Sessao.administrador_id == administrador_id,
                                                  Sessao.revogada_em.is_(None))
                             .values(revogada_em=now or utcnow()))
    if result.rowcount:
        log.info("event=sessions_revoked administrador_id=%s count=%s", administrador_id,
                 result.rowcount)
    return result.rowcount or 0
