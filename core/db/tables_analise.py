"""Tables of the per-conversa analysis (problems, first question, topic, suggested rating).

Registered in the same `Base.metadata` as core.db.tables (core/db/__init__ imports this
module, so every table is known wherever the database is used).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.tables import AVALIACOES, Base, _in, utc_now


# --- the analysis -------------------------------------------------------------------

# Per-conversa analysis (problems, first question, topic, suggested rating), computed
# incrementally from a queue that database triggers fill whenever a conversa or one of
# its messages is written, so the page never re-reads every message.

class AnaliseFila(Base):
    """Conversas waiting to be (re)analysed; filled by triggers, drained by analyze_pending."""

    __tablename__ = "analise_fila"

    conversa_id: Mapped[int] = mapped_column(
        ForeignKey("conversas.id", ondelete="CASCADE"), primary_key=True
    )


class ConversaAnalise(Base):
    """What the analysis found in one conversa (never a rating: only a suggestion)."""

    __tablename__ = "conversas_analise"
    __table_args__ = (
        CheckConstraint(_in("avaliacao_sugerida", AVALIACOES), name="avaliacao_sugerida"),
        Index("ix_conversas_analise_cliente_topico", "cliente_id", "topico"),
        Index("ix_conversas_analise_avaliacao_topico", "avaliacao", "topico"),
    )

    conversa_id: Mapped[int] = mapped_column(
        ForeignKey("conversas.id", ondelete="CASCADE"), primary_key=True
    )
    cliente_id: Mapped[int] = mapped_column(ForeignKey("clientes.id", ondelete="CASCADE"))
    dia: Mapped[dt.date] = mapped_column(Date)
    pergunta: Mapped[str | None] = mapped_column(String(300))
    topico: Mapped[str | None] = mapped_column(String(120))
    avaliacao_sugerida: Mapped[str | None] = mapped_column(String(10))
    # Copy of conversas.avaliacao, kept by a trigger: counts by rating need no join.
    avaliacao: Mapped[str | None] = mapped_column(String(10))
    analisada_em: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())


class ConversaProblema(Base):
    """One detected problem of one conversa (codes in core.review.detection.PROBLEMAS)."""

    __tablename__ = "conversas_problemas"
    __table_args__ = (
        Index("ix_conversas_problemas_codigo", "codigo", "conversa_id"),
        Index("ix_conversas_problemas_cliente_dia", "cliente_id", "dia"),
        Index("ix_conversas_problemas_avaliacao_codigo", "avaliacao", "codigo"),
    )

    conversa_id: Mapped[int] = mapped_column(
        ForeignKey("conversas.id", ondelete="CASCADE"), primary_key=True
    )
    codigo: Mapped[str] = mapped_column(String(30), primary_key=True)
    cliente_id: Mapped[int] = mapped_column(ForeignKey("clientes.id", ondelete="CASCADE"))
    dia: Mapped[dt.date] = mapped_column(Date)
    avaliacao: Mapped[str | None] = mapped_column(String(10))  # copy, kept by a trigger


# --- the admin's labels and the LLM classifier's cache (issue 20) --------------------

class ConversaRotulo(Base):
    """The admin's word on one conversa's problems: the codes that are really there
    (comma-separated, sorted; '' = none), replacing what the detector said. Who and when
    are kept; a new label overwrites the previous one."""

    __tablename__ = "conversas_rotulos"
    __table_args__ = (Index("ix_conversas_rotulos_cliente", "cliente_id", "conversa_id"),)

    conversa_id: Mapped[int] = mapped_column(
        ForeignKey("conversas.id", ondelete="CASCADE"), primary_key=True
    )
    cliente_id: Mapped[int] = mapped_column(ForeignKey("clientes.id", ondelete="CASCADE"))
    problemas: Mapped[str] = mapped_column(String(200), default="")
    rotulado_por: Mapped[str] = mapped_column(String(100))
    rotulado_em: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())


class ClassificacaoLLM(Base):
    """One LLM classification of one conversa, cached per prompt version and model; the
    hash of the messages tells a conversa that changed since (then it is asked again)."""

    __tablename__ = "classificacoes_llm"

    conversa_id: Mapped[int] = mapped_column(
        ForeignKey("conversas.id", ondelete="CASCADE"), primary_key=True
    )
    versao_prompt: Mapped[str] = mapped_column(String(30), primary_key=True)
    modelo: Mapped[str] = mapped_column(String(200), primary_key=True)
    conteudo_hash: Mapped[str] = mapped_column(String(64))
    problemas: Mapped[str] = mapped_column(String(200), default="")
    tokens_entrada: Mapped[int] = mapped_column(Integer, default=0)
    tokens_saida: Mapped[int] = mapped_column(Integer, default=0)
    classificada_em: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())
