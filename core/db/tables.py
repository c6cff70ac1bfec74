"""Typed ORM models. Table and column names follow the seed (Portuguese).

Timestamps are stored as naive UTC (`core.clock.utcnow()`); pages convert them to the
configured time zone. Allowed values live in CHECK constraints so that a write from any
tool, not only this one, is validated by the database.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import FunctionElement

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

AVALIACOES = ("boa", "ruim")
STATUS_CONVERSA = ("ativa", "finalizada", "aguardando")
ROLES = ("user", "assistant")
STATUS_JOB = ("pending", "running", "succeeded", "failed", "cancelled")
METODOS_TREINO = ("sft", "dpo")  # supervised (good conversas) or preferences (corrections)
JOB_ABERTO = ("pending", "running")  # the open statuses: at most one such job per cliente
# What happens to a succeeded job's model (core.finetune.rollout): pendente until it is
# prepared and evaluated, then in use, waiting for an admin, rejected, or failed for good.
IMPLANTACAO = ("pendente", "aplicado", "aguardando_aprovacao", "rejeitado", "falhou")
# The rollup stores "no rating" as a value so it can be part of a unique key.
SEM_AVALIACAO = "sem"

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class utc_now(FunctionElement):
    """CURRENT_TIMESTAMP as naive UTC on every database (server defaults, SQL)."""

    type = DateTime()
    inherit_cache = True


@compiles(utc_now, "postgresql")
def _utc_now_pg(_element, _compiler, **_kw) -> str:
    # A plain CURRENT_TIMESTAMP would be cast to the session's time zone.
    return "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')"


@compiles(utc_now)
def _utc_now_default(_element, _compiler, **_kw) -> str:
    return "CURRENT_TIMESTAMP"  # SQLite's is UTC already


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Cliente(Base):
    """A business client: one WhatsApp bot, one Redis, one fine-tuned model at a time."""

    __tablename__ = "clientes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nome: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    whatsapp: Mapped[str | None] = mapped_column(String(32))
    system_prompt: Mapped[str] = mapped_column(Text, server_default="")
    modelo_base: Mapped[str] = mapped_column(
        String(100), server_default="gpt-4.1-mini-2025-04-14"
    )
    modelo_ativo: Mapped[str | None] = mapped_column(String(200))
    redis_url: Mapped[str | None] = mapped_column(String(500))
    redis_db: Mapped[int] = mapped_column(Integer, server_default="0")
    redis_prefix: Mapped[str] = mapped_column(String(100), server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())
    # The model the bot uses (core.finetune.deploy): fine-tuning provider (NULL = the
    # default setting), endpoint of modelo_ativo (NULL = derived from the model's name),
    # and the contingency the sunset guard moves the bot to (NULL = the global setting).
    provedor: Mapped[str | None] = mapped_column(String(30))
    modelo_endpoint: Mapped[str | None] = mapped_column(String(500))
    modelo_contingencia: Mapped[str | None] = mapped_column(String(200))
    modelo_contingencia_endpoint: Mapped[str | None] = mapped_column(String(500))
    # The cliente's own public details (core.clientes.dados_proprios): never redacted from
    # the training file. Phones and e-mails one per line.
    proprio_telefones: Mapped[str | None] = mapped_column(Text)
    proprio_emails: Mapped[str | None] = mapped_column(Text)
    proprio_cnpj: Mapped[str | None] = mapped_column(String(32))
    proprio_endereco: Mapped[str | None] = mapped_column(Text)
    proprio_cep: Mapped[str | None] = mapped_column(String(16))
    proprio_chave_pix: Mapped[str | None] = mapped_column(String(200))

    conversas: Mapped[list[Conversa]] = relationship(back_populates="cliente")


class Conversa(Base):
    """A run of messages of one contact, split from the bot's stream by inactivity."""

    __tablename__ = "conversas"
    __table_args__ = (
        CheckConstraint(_in("avaliacao", AVALIACOES), name="avaliacao"),
        CheckConstraint(_in("status", STATUS_CONVERSA), name="status"),
        # The import's idempotency key: one conversa per contact and start instant.
        UniqueConstraint("cliente_id", "whatsapp", "iniciada_em",
                         name="uq_conversas_cliente_whatsapp_inicio"),
        Index("ix_conversas_cliente_ultima", "cliente_id", "ultima_mensagem_em"),
        Index("ix_conversas_ultima", "ultima_mensagem_em", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cliente_id: Mapped[int] = mapped_column(
        ForeignKey("clientes.id", ondelete="CASCADE")
    )
    whatsapp: Mapped[str] = mapped_column(String(32))
    contato_nome: Mapped[str | None] = mapped_column(String(120))
    iniciada_em: Mapped[dt.datetime] = mapped_column(DateTime)
    ultima_mensagem_em: Mapped[dt.datetime] = mapped_column(DateTime)
    # Local calendar day of iniciada_em (settings.timezone); set by the writer so the
    # rollup and the period filter agree on both databases.
    dia: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), server_default="ativa")
    modelo_usado: Mapped[str | None] = mapped_column(String(200))
    total_mensagens: Mapped[int] = mapped_column(Integer, server_default="0")
    avaliacao: Mapped[str | None] = mapped_column(String(10))
    avaliado_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    avaliado_por: Mapped[str | None] = mapped_column(String(50), server_default="admin")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())

    cliente: Mapped[Cliente] = relationship(back_populates="conversas")
    mensagens: Mapped[list[Mensagem]] = relationship(
        back_populates="conversa", order_by="Mensagem.enviada_em, Mensagem.id"
    )


class Mensagem(Base):
    """One message as the bot stored it in Redis (key kept for idempotent import)."""

    __tablename__ = "mensagens"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        UniqueConstraint("cliente_id", "redis_key", name="uq_mensagens_cliente_redis_key"),
        Index("ix_mensagens_conversa_enviada", "conversa_id", "enviada_em"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversa_id: Mapped[int] = mapped_column(
        ForeignKey("conversas.id", ondelete="CASCADE")
    )
    cliente_id: Mapped[int] = mapped_column(
        ForeignKey("clientes.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(10))
    conteudo: Mapped[str] = mapped_column(Text)
    enviada_em: Mapped[dt.datetime] = mapped_column(DateTime)
    redis_key: Mapped[str] = mapped_column(String(255))
    modelo: Mapped[str | None] = mapped_column(String(200))

    conversa: Mapped[Conversa] = relationship(back_populates="mensagens")


class ConversaResumo(Base):
    """Exact counts of conversas by cliente, day, status and rating.

    Maintained by database triggers (see the migrations), so a rating written by any
    tool keeps every counter exact without scanning `conversas`.
    """

    __tablename__ = "conversas_resumo"
    __table_args__ = (
        CheckConstraint(_in("avaliacao", (*AVALIACOES, SEM_AVALIACAO)), name="avaliacao"),
    )

    cliente_id: Mapped[int] = mapped_column(
        ForeignKey("clientes.id", ondelete="CASCADE"), primary_key=True
    )
    dia: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    avaliacao: Mapped[str] = mapped_column(String(10), primary_key=True)
    total: Mapped[int] = mapped_column(Integer, server_default="0")


class AvaliacaoHistorico(Base):
    """Audit trail of ratings, written by a trigger on `conversas` (any writer)."""

    __tablename__ = "avaliacoes_historico"
    __table_args__ = (
        Index("ix_avaliacoes_historico_conversa", "conversa_id", "id"),
        # Visão geral's ratings of the last 7 days (core.review.start_of_day)
        Index("ix_avaliacoes_historico_registrado", "registrado_em"),
        Index("ix_avaliacoes_historico_por_em", "avaliado_por", "avaliado_em"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversa_id: Mapped[int] = mapped_column(
        ForeignKey("conversas.id", ondelete="CASCADE")
    )
    avaliacao_anterior: Mapped[str | None] = mapped_column(String(10))
    avaliacao_nova: Mapped[str | None] = mapped_column(String(10))
    avaliado_por: Mapped[str | None] = mapped_column(String(50))
    avaliado_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    registrado_em: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())
    # The admin's optional reason (core.review.ratings); tags separated by ';'.
    motivo: Mapped[str | None] = mapped_column(String(300))
    tags: Mapped[str | None] = mapped_column(String(300))


class FineTuningJob(Base):
    """A fine-tuning job: every column of the seed's CREATE TABLE plus provider state."""

    __tablename__ = "fine_tuning_jobs"
    __table_args__ = (
        CheckConstraint(_in("status", STATUS_JOB), name="status"),
        CheckConstraint(_in("implantacao", IMPLANTACAO), name="implantacao"),
        CheckConstraint(_in("metodo", METODOS_TREINO), name="metodo"),
        Index("idx_fine_tuning_cliente", "cliente_id"),
        Index("idx_fine_tuning_status", "status"),
        # At most one open job per cliente, whoever starts it.
        Index(
            "uq_fine_tuning_jobs_cliente_aberto",
            "cliente_id",
            unique=True,
            postgresql_where=text(_in("status", JOB_ABERTO)),
            sqlite_where=text(_in("status", JOB_ABERTO)),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cliente_id: Mapped[int] = mapped_column(ForeignKey("clientes.id"))
    openai_job_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    conversas_usadas: Mapped[int | None] = mapped_column(Integer)
    modelo_base: Mapped[str | None] = mapped_column(String(50))
    modelo_fine_tuned: Mapped[str | None] = mapped_column(String(100))
    custo_estimado: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    erro: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Beyond the seed: which provider, its file ids and raw status, progress and costs.
    provedor: Mapped[str] = mapped_column(String(30), server_default="openai")
    arquivo_treino_id: Mapped[str | None] = mapped_column(String(255))
    arquivo_validacao_id: Mapped[str | None] = mapped_column(String(255))
    status_provedor: Mapped[str | None] = mapped_column(String(40))
    progresso: Mapped[int | None] = mapped_column(Integer)
    previsao_conclusao: Mapped[dt.datetime | None] = mapped_column(DateTime)
    tokens_estimados: Mapped[int | None] = mapped_column(Integer)
    epocas: Mapped[int | None] = mapped_column(Integer)
    custo_estimado_usd: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    trained_tokens: Mapped[int | None] = mapped_column(BigInteger)
    custo_real: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    custo_real_usd: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    iniciado_por: Mapped[str | None] = mapped_column(String(50))
    atualizado_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    aplicado_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The poller: its lease on the job (core.finetune.follow.claim_job), last check, backoff.
    lease_dono: Mapped[str | None] = mapped_column(String(120))
    lease_ate: Mapped[dt.datetime | None] = mapped_column(DateTime)
    verificado_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    proxima_verificacao_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    falhas_transitorias: Mapped[int] = mapped_column(Integer, server_default="0")
    ultimo_erro_transitorio: Mapped[str | None] = mapped_column(Text)
    # After success: the model prepared for the bot (an OpenAI id or a vLLM adapter name),
    # its endpoint, and where its deployment stands (core.finetune.rollout).
    implantacao: Mapped[str | None] = mapped_column(String(30))
    modelo_implantado: Mapped[str | None] = mapped_column(String(200))
    endpoint_implantado: Mapped[str | None] = mapped_column(String(500))
    implantacao_erro: Mapped[str | None] = mapped_column(Text)
    implantacao_tentativas: Mapped[int] = mapped_column(Integer, server_default="0")
    implantacao_proxima_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # How it trains: sft (the good conversas) or dpo (the corrections, preference pairs).
    metodo: Mapped[str] = mapped_column(String(10), server_default="sft")

    cliente: Mapped[Cliente] = relationship()


class Notificacao(Base):
    """A notification for the admins; `chave` makes each event notify exactly once."""

    __tablename__ = "notificacoes"
    __table_args__ = (Index("ix_notificacoes_lida_criada", "lida_em", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chave: Mapped[str] = mapped_column(String(120), unique=True)
    tipo: Mapped[str] = mapped_column(String(40))
    titulo: Mapped[str] = mapped_column(String(200))
    mensagem: Mapped[str] = mapped_column(Text, server_default="")
    cliente_id: Mapped[int | None] = mapped_column(
        ForeignKey("clientes.id", ondelete="CASCADE")
    )
    fine_tuning_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("fine_tuning_jobs.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())
    lida_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    webhook_enviado_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Webhook delivery state (retried with backoff, delivered once).
    webhook_tentativas: Mapped[int] = mapped_column(Integer, server_default="0")
    webhook_proxima_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    webhook_erro: Mapped[str | None] = mapped_column(Text)


class ModeloHistorico(Base):
    """Every change of a cliente's model in use (fine-tune applied, rollback, manual)."""

    __tablename__ = "modelos_historico"
    __table_args__ = (Index("ix_modelos_historico_cliente", "cliente_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cliente_id: Mapped[int] = mapped_column(ForeignKey("clientes.id", ondelete="CASCADE"))
    modelo_anterior: Mapped[str | None] = mapped_column(String(200))
    modelo_novo: Mapped[str | None] = mapped_column(String(200))
    endpoint_anterior: Mapped[str | None] = mapped_column(String(500))
    endpoint_novo: Mapped[str | None] = mapped_column(String(500))
    motivo: Mapped[str] = mapped_column(String(40))
    fine_tuning_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("fine_tuning_jobs.id", ondelete="SET NULL")
    )
    alterado_por: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())


class ModeloDesligamento(Base):
    """When a model stops answering: read from the provider (`GET /v1/models`'s
    `shutdown_date`) once a day, the built-in catalogue being only the fallback."""

    __tablename__ = "modelos_desligamento"

    modelo: Mapped[str] = mapped_column(String(200), primary_key=True)
    provedor: Mapped[str] = mapped_column(String(30))
    desligamento: Mapped[dt.date | None] = mapped_column(Date)
    fonte: Mapped[str] = mapped_column(String(20))  # api | catalogo
    atualizado_em: Mapped[dt.datetime] = mapped_column(DateTime)


class Administrador(Base):
    """A person who logs into the dashboard; `usuario` is what `avaliado_por` records."""

    __tablename__ = "administradores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    usuario: Mapped[str] = mapped_column(String(50), unique=True)
    nome: Mapped[str] = mapped_column(String(120), server_default="")
    senha_hash: Mapped[str | None] = mapped_column(String(255))
    ativo: Mapped[bool] = mapped_column(Boolean, server_default=true())
    trocar_senha: Mapped[bool] = mapped_column(Boolean, server_default=false())
    falhas_login: Mapped[int] = mapped_column(Integer, server_default="0")
    bloqueado_ate: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ultimo_login_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime, server_default=utc_now()
    )


# --- the poller -----------------------------------------------------------------------

class PollerHeartbeat(Base):
    """When each poller process was last seen (the dashboard shows it)."""

    __tablename__ = "poller_heartbeats"

    nome: Mapped[str] = mapped_column(String(120), primary_key=True)
    visto_em: Mapped[dt.datetime] = mapped_column(DateTime)
    ciclo_iniciado_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ciclo_concluido_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    intervalo_segundos: Mapped[int | None] = mapped_column(Integer)
    resumo: Mapped[str] = mapped_column(Text, server_default="")


# --- the import from Redis -------------------------------------------------------------

class Importacao(Base):
    """One run of the Redis import for a cliente: what it read, added, skipped and rejected.

    `posicao_final` is how far into the bot's `all_conversations` list the run got (committed
    with the data, chunk by chunk), so the next run with the same `origem` starts there.
    """

    __tablename__ = "importacoes"
    __table_args__ = (Index("ix_importacoes_cliente", "cliente_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cliente_id: Mapped[int] = mapped_column(ForeignKey("clientes.id", ondelete="CASCADE"))
    origem: Mapped[str] = mapped_column(String(700), server_default="")
    iniciada_em: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())
    concluida_em: Mapped[dt.datetime | None] = mapped_column(DateTime)
    lidas: Mapped[int] = mapped_column(Integer, server_default="0")
    mensagens_novas: Mapped[int] = mapped_column(Integer, server_default="0")
    conversas_novas: Mapped[int] = mapped_column(Integer, server_default="0")
    conversas_estendidas: Mapped[int] = mapped_column(Integer, server_default="0")
    duplicadas: Mapped[int] = mapped_column(Integer, server_default="0")
    expiradas: Mapped[int] = mapped_column(Integer, server_default="0")
    rejeitadas: Mapped[int] = mapped_column(Integer, server_default="0")
    # JSON object reason -> count (text, so it reads the same on SQLite and PostgreSQL).
    rejeitadas_por_motivo: Mapped[str] = mapped_column(Text, server_default="{}")
    posicao_inicial: Mapped[int] = mapped_column(BigInteger, server_default="0")
    posicao_final: Mapped[int | None] = mapped_column(BigInteger)
    primeira_chave: Mapped[str | None] = mapped_column(String(300))
    erro: Mapped[str | None] = mapped_column(Text)


class EntradaRejeitada(Base):
    """A Redis entry the import refused, kept once per key with a bounded excerpt."""

    __tablename__ = "entradas_rejeitadas"
    __table_args__ = (
        UniqueConstraint("cliente_id", "redis_key", name="uq_entradas_rejeitadas_cliente_redis_key"),
        Index("ix_entradas_rejeitadas_cliente", "cliente_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    cliente_id: Mapped[int] = mapped_column(ForeignKey("clientes.id", ondelete="CASCADE"))
    importacao_id: Mapped[int | None] = mapped_column(
        ForeignKey("importacoes.id", ondelete="SET NULL")
    )
    redis_key: Mapped[str] = mapped_column(String(300))
    motivo: Mapped[str] = mapped_column(String(40))
    trecho: Mapped[str] = mapped_column(Text, server_default="")
    registrada_em: Mapped[dt.datetime] = mapped_column(DateTime, server_default=utc_now())


# --- the conversation list and search -------------------------------------------------

# Listing: newest first by start time. The INCLUDE columns let PostgreSQL filter and
# skip rows (OFFSET) inside an index-only scan, without touching the heap.
Index("ix_conversas_iniciada", Conversa.iniciada_em, Conversa.id,
      postgresql_include=["cliente_id", "status", "avaliacao"])
Index("ix_conversas_cliente_iniciada", Conversa.cliente_id, Conversa.iniciada_em, Conversa.id,
      postgresql_include=["status", "avaliacao"])
Index("ix_conversas_avaliacao_iniciada", Conversa.avaliacao, Conversa.iniciada_em, Conversa.id,
      postgresql_include=["cliente_id", "status"])
Index("ix_conversas_status_iniciada", Conversa.status, Conversa.iniciada_em, Conversa.id,
      postgresql_include=["cliente_id", "avaliacao"])


# Search objects that only exist on one backend and that the models cannot describe.
SEARCH_ONLY_OBJECTS = ("conversas_fts", "ix_conversas_busca_documento")


def include_in_schema_compare(name: str | None, _type: str, _parents: dict) -> bool:
    """Schema comparison filter: skip FTS5 tables (and their shadow tables) and the GIN index."""
    return not (name or "").startswith(SEARCH_ONLY_OBJECTS)
