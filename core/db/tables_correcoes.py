"""The admin's corrections of bot answers (core.review.corrections).

Registered in the same `Base.metadata` as core.db.tables (core/db/__init__ imports this
module, so every table is known wherever the database is used).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.tables import Base, BigId, utc_now


class Correcao(Base):
    """What the bot should have answered instead of one of its messages.

    At most one correction per bot message (`mensagem_id` is unique); the conversa and
    the cliente are kept on the row so the training file finds a cliente's corrections
    without reading its messages. Who wrote it and when, and who changed it last.
    """

    __tablename__ = "correcoes"
    __table_args__ = (
        Index("ix_correcoes_cliente_conversa", "cliente_id", "conversa_id"),
        Index("ix_correcoes_conversa", "conversa_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cliente_id: Mapped[int] = mapped_column(ForeignKey("clientes.id", ondelete="CASCADE"))
    conversa_id: Mapped[int] = mapped_column(ForeignKey("conversas.id", ondelete="CASCADE"))
    mensagem_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("mensagens.id", ondelete="CASCADE"), unique=True)
    resposta_correta: Mapped[str] = mapped_column(Text)
    criada_por: Mapped[str | None] = mapped_column(String(50))
    criada_em: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())
    atualizada_por: Mapped[str | None] = mapped_column(String(50))
    atualizada_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
