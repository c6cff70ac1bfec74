"""Tables of the evaluation of a new model before it goes into use (core.finetune.evaluate).

Registered in the same `Base.metadata` as core.db.tables (core/db/__init__ imports this
module, so every table is known wherever the database is used).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.tables import Base, _in, utc_now


STATUS_AVALIACAO_MODELO = ("executando", "concluida", "falhou")
DECISOES_AVALIACAO = ("aprovado", "aguardando_aprovacao", "rejeitado")


class AvaliacaoModelo(Base):
    """One evaluation of a finished job's model against the model in use (held-out examples).

    `resumo` is JSON text (scores, tokens, costs per side); `custo_usd` is NULL when a model
    has no known price. At most one evaluation of a job runs at a time: a crashed one is
    resumed, not duplicated.
    """

    __tablename__ = "avaliacoes_modelo"
    __table_args__ = (
        CheckConstraint(_in("status", STATUS_AVALIACAO_MODELO), name="status"),
        CheckConstraint(_in("decisao", DECISOES_AVALIACAO), name="decisao"),
        Index("ix_avaliacoes_modelo_job", "fine_tuning_job_id", "id"),
        Index("ix_avaliacoes_modelo_cliente", "cliente_id", "id"),
        Index(
            "uq_avaliacoes_modelo_job_executando",
            "fine_tuning_job_id",
            unique=True,
            postgresql_where=text("status = 'executando'"),
            sqlite_where=text("status = 'executando'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fine_tuning_job_id: Mapped[int] = mapped_column(
        ForeignKey("fine_tuning_jobs.id", ondelete="CASCADE"))
    cliente_id: Mapped[int] = mapped_column(ForeignKey("clientes.id", ondelete="CASCADE"))
    modelo_candidato: Mapped[str] = mapped_column(String(200))
    endpoint_candidato: Mapped[str | None] = mapped_column(String(500))
    modelo_atual: Mapped[str] = mapped_column(String(200))
    endpoint_atual: Mapped[str | None] = mapped_column(String(500))
    modelo_juiz: Mapped[str | None] = mapped_column(String(200))
    endpoint_juiz: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), server_default="executando")
    decisao: Mapped[str | None] = mapped_column(String(30))
    exemplos: Mapped[int] = mapped_column(Integer, server_default="0")
    resumo: Mapped[str] = mapped_column(Text, server_default="{}")
    custo_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))
    erro: Mapped[str | None] = mapped_column(Text)
    criada_em: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())
    concluida_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    criada_por: Mapped[str | None] = mapped_column(String(50))
    decidida_por: Mapped[str | None] = mapped_column(String(50))
    decidida_em: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AvaliacaoExemplo(Base):
    """One held-out example of an evaluation: the question, the curated answer and what each
    model said, written as each answer arrives (a resumed run asks only what is missing).

    `contexto`, the `problemas_*`, `juiz` and `uso` are JSON text.
    """

    __tablename__ = "avaliacoes_exemplos"

    avaliacao_id: Mapped[int] = mapped_column(
        ForeignKey("avaliacoes_modelo.id", ondelete="CASCADE"), primary_key=True)
    indice: Mapped[int] = mapped_column(Integer, primary_key=True)
    linha: Mapped[int] = mapped_column(Integer)  # line of the validation file, from 1
    pergunta: Mapped[str] = mapped_column(Text, server_default="")
    contexto: Mapped[str] = mapped_column(Text)
    resposta_curada: Mapped[str] = mapped_column(Text)
    resposta_candidato: Mapped[str | None] = mapped_column(Text)
    resposta_atual: Mapped[str | None] = mapped_column(Text)
    problemas_candidato: Mapped[str | None] = mapped_column(Text)
    problemas_atual: Mapped[str | None] = mapped_column(Text)
    chrf_candidato: Mapped[float | None] = mapped_column(Float)
    chrf_atual: Mapped[float | None] = mapped_column(Float)
    juiz: Mapped[str | None] = mapped_column(Text)
    uso: Mapped[str] = mapped_column(Text, server_default="{}")
