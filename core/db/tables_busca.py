"""The search tables (core.review.search_index, core.review.conversations): each conversa's
searchable text and the queue of conversas whose text changed.

Registered in the same `Base.metadata` as core.db.tables (core/db/__init__ imports this
module).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from core.db.tables import Base


class ConversaBusca(Base):
    """The searchable text of one conversa, rebuilt from its messages after they are written
    (core.review.search_index; `busca_pendentes` is the queue).

    PostgreSQL: a tsvector (portuguese config over unaccented text) with a GIN index.
    SQLite: the concatenated text, and in `termos` the stem of each of its words, which the
    FTS5 table `conversas_fts` indexes (reading `documento` for snippets).
    """

    __tablename__ = "conversas_busca"

    __table_args__ = (
        Index("ix_conversas_busca_iniciada", "iniciada_em", "conversa_id"),
    )

    conversa_id: Mapped[int] = mapped_column(
        ForeignKey("conversas.id", ondelete="CASCADE"), primary_key=True
    )
    # Copies of the conversa's filter and sort columns (kept by triggers on `conversas`),
    # so a search with filters is answered from this table alone.
    cliente_id: Mapped[int] = mapped_column(Integer)
    iniciada_em: Mapped[dt.datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20))
    avaliacao: Mapped[str | None] = mapped_column(String(10))
    documento: Mapped[str] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"))
    termos: Mapped[str | None] = mapped_column(Text)  # SQLite only (NULL on PostgreSQL)


class BuscaPendente(Base):
    """Conversas whose messages changed since their search document was built (a trigger on
    `mensagens` adds them; core.review.search_index.update_search takes them off)."""

    __tablename__ = "busca_pendentes"

    conversa_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    marcada_em: Mapped[dt.datetime] = mapped_column(DateTime)
