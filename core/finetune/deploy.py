"""The model each cliente's bot uses: apply, roll back, history, and the Redis key.

The database (`clientes.modelo_ativo`, NULL = the base model) is the source of truth;
every change is one row in `modelos_historico`. The bot reads the model id from a plain
string key in the cliente's own Redis: ``{redis_prefix}curadoria:modelo_ativo``
(see README). The key always holds a model id: the fine-tuned one or the base model.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import redis as redis_lib
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clientes.directory import get_cliente
from core.clientes.redis_source import connect, own_source
from core.db.tables import Cliente, ModeloHistorico
from core.errors import InvalidInput, ServiceUnavailable
from core.logs import log_event

logger = logging.getLogger("curadoria.finetune")

REDIS_MODEL_KEY = "curadoria:modelo_ativo"


def redis_model_key(cliente: Cliente) -> str:
    """The key the bot reads its model from."""
    return f"{cliente.redis_prefix or ''}{REDIS_MODEL_KEY}"


def model_in_use(cliente: Cliente) -> str:
    """The model id the bot must use now (the fine-tuned one, or the base model)."""
    return cliente.modelo_ativo or cliente.modelo_base


def write_model_to_redis(cliente: Cliente, client: redis_lib.Redis | None = None) -> bool:
    """SET the cliente's model key; False when the cliente has no Redis source.

    Raises ServiceUnavailable when Redis does not answer (the database already holds the
    truth; the poller writes the key again on its next cycle).
    """
    own = client is None
    if own:
        source = own_source(cliente)
        if source is None:
            return False
        client = connect(source, timeout=5)
    try:
        client.set(redis_model_key(cliente), model_in_use(cliente))
    except redis_lib.RedisError as exc:
        raise ServiceUnavailable(
            f"Não foi possível gravar o modelo do cliente '{cliente.slug}' no Redis: {exc}"
        ) from None
    finally:
        if own:
            client.close()
    return True


def sync_models_to_redis(session: Session) -> tuple[int, int]:
    """Write every cliente's model key (idempotent; heals a write lost to a crash or an
    outage). Returns (written, failed)."""
    written = failed = 0
    for cliente in session.scalars(select(Cliente).order_by(Cliente.id)):
        try:
            written += write_model_to_redis(cliente)
        except ServiceUnavailable as exc:
            failed += 1
            log_event(logger, "redis_modelo_falhou", cliente=cliente.slug, erro=exc.mensagem,
                      level=logging.WARNING)
    return written, failed


def set_active_model(session: Session, cliente: Cliente, modelo: str | None, *, motivo: str,
                     alterado_por: str | None = None,
                     fine_tuning_job_id: int | None = None) -> ModeloHistorico:
    """Change the model in use (None = base model) and record it; no Redis here."""
    anterior = cliente.modelo_ativo
    session.execute(update(Cliente).where(Cliente.id == cliente.id).values(modelo_ativo=modelo))
    cliente.modelo_ativo = modelo
    registro = ModeloHistorico(cliente_id=cliente.id, modelo_anterior=anterior, modelo_novo=modelo,
                               motivo=motivo, alterado_por=alterado_por,
                               fine_tuning_job_id=fine_tuning_job_id)
    session.add(registro)
    session.flush()
    return registro


def list_model_history(session: Session, cliente_id: int, limit: int = 50) -> list[ModeloHistorico]:
    """The newest changes first."""
    return list(session.scalars(
        select(ModeloHistorico).where(ModeloHistorico.cliente_id == cliente_id)
        .order_by(ModeloHistorico.id.desc()).limit(limit)
    ))


def rollback_target(session: Session, cliente: Cliente) -> str | None:
    """The model a rollback goes to: the one in use before the current one (None = base)."""
    if cliente.modelo_ativo is None:
        return None
    for registro in list_model_history(session, cliente.id, limit=500):
        # A rollback is not where a model "came from": skip those to walk back in time.
        if registro.modelo_novo == cliente.modelo_ativo and not registro.motivo.startswith("rollback"):
            anterior = registro.modelo_anterior
            return None if anterior == cliente.modelo_ativo else anterior
    return None


@dataclass(frozen=True)
class RollbackResult:
    modelo_anterior: str | None
    modelo_novo: str | None  # None = base model
    modelo_em_uso: str
    redis_gravado: bool


def rollback_model(session: Session, slug: str, *, usuario: str,
                   to_base: bool = False) -> RollbackResult:
    """Go back to the previous model (or to the base model) in one recorded action.

    The database change is committed by the caller's session; the Redis key is written
    right after the flush (a Redis outage is reported, the poller re-syncs the key).
    """
    cliente = get_cliente(session, slug)
    # Lock the cliente row on PostgreSQL so two admins clicking at once roll back once.
    session.execute(select(Cliente.id).where(Cliente.id == cliente.id).with_for_update())
    session.refresh(cliente)
    if cliente.modelo_ativo is None:
        raise InvalidInput(f"O cliente '{cliente.nome}' já usa o modelo base "
                           f"({cliente.modelo_base}); não há para onde voltar.")
    alvo = None if to_base else rollback_target(session, cliente)
    anterior = cliente.modelo_ativo
    set_active_model(session, cliente, alvo, motivo="rollback_base" if alvo is None else "rollback",
                     alterado_por=usuario)
    session.commit()
    log_event(logger, "modelo_revertido", cliente=cliente.slug, de=anterior,
              para=model_in_use(cliente), por=usuario)
    gravado = write_model_to_redis(cliente)
    return RollbackResult(anterior, alvo, model_in_use(cliente), gravado)


@dataclass(frozen=True)
class ClienteModelo:
    """What the Clientes screen shows about one cliente's model."""

    slug: str
    nome: str
    modelo_base: str
    modelo_ativo: str | None
    modelo_em_uso: str
    alvo_rollback: str | None  # None = the base model
    pode_reverter: bool
    chave_redis: str
    tem_redis: bool
    historico: list[ModeloHistorico]


def describe_cliente_model(session: Session, slug: str) -> ClienteModelo:
    cliente = get_cliente(session, slug)
    return ClienteModelo(
        slug=cliente.slug, nome=cliente.nome, modelo_base=cliente.modelo_base,
        modelo_ativo=cliente.modelo_ativo, modelo_em_uso=model_in_use(cliente),
        alvo_rollback=rollback_target(session, cliente),
        pode_reverter=cliente.modelo_ativo is not None,
        chave_redis=redis_model_key(cliente), tem_redis=own_source(cliente) is not None,
        historico=list_model_history(session, cliente.id),
    )
