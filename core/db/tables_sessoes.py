"""The dashboard's login sessions (core.login_sessions): one row per browser login.

Registered in the same `Base.metadata` as core.db.tables (core/db/__init__ imports this
module). Only hashes are stored: the session token lives in the browser's HttpOnly
cookie, the one-time entry ticket in the page that exchanges it for that cookie.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.tables import Base, utc_now


class Sessao(Base):
    """A logged-in browser: valid while not revoked, used recently and the password unchanged."""

    __tablename__ = "sessoes"
    # A tab holds its session's id: an id must never be reused for a later session
    # (SQLite reuses the highest freed rowid unless told AUTOINCREMENT).
    __table_args__ = (Index("ix_sessoes_administrador", "administrador_id"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    administrador_id: Mapped[int] = mapped_column(
        ForeignKey("administradores.id", ondelete="CASCADE"))
    # sha256 of the cookie's token (NULL until the entry ticket is exchanged)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # sha256 of the one-time ticket the page exchanges for the cookie (NULL once used)
    entrada_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # core.auth.session_stamp at login: a password changed since then ends the session
    carimbo_senha: Mapped[str] = mapped_column(String(64))
    criada_em: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())
    ultimo_uso_em: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())
    expira_em: Mapped[dt.datetime] = mapped_column(DateTime)
    revogada_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
