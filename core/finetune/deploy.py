"""The model each cliente's bot uses: apply, roll back, history, and the two Redis keys.

The database (`clientes.modelo_ativo`, NULL = the base model, and `modelo_endpoint`) is
the source of truth; every change is one row in `modelos_historico`, with both endpoints,
so a rollback across providers restores the model and where to call it. The bot reads two
plain string keys in the cliente's own Redis, always written together by
`write_model_to_redis` (the only writer): ``{prefix}curadoria:modelo_ativo`` (the model
name to send: an OpenAI model id or a LoRA adapter's name on the team's vLLM) and
``{prefix}curadoria:modelo_endpoint`` (the OpenAI-compatible base URL to call).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import redis as redis_lib
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.formato import plural
from core.clientes.directory import get_cliente
from core.clientes.redis_source import connect, own_source
from core.config import Settings, get_settings
from core.db.tables import Cliente, ModeloHistorico
from core.errors import InvalidInput, ServiceUnavailable
from core.finetune import shutdown_dates
from core.logs import log_event

logger = logging.getLogger("curadoria.finetune")

REDIS_MODEL_KEY = "curadoria:modelo_ativo"
REDIS_ENDPOINT_KEY = "curadoria:modelo_endpoint"
OPENAI_ENDPOINT = "https://api.openai.com/v1"
_OPENAI_PREFIXES = ("gpt-", "ft:", "chatgpt-", "o1", "o3", "o4")


def redis_model_key(cliente: Cliente) -> str:
    """The key the bot reads its model name from."""
    return f"{cliente.redis_prefix or ''}{REDIS_MODEL_KEY}"


def redis_endpoint_key(cliente: Cliente) -> str:
    """The key the bot reads the base URL to call from."""
    return f"{cliente.redis_prefix or ''}{REDIS_ENDPOINT_KEY}"


def is_openai_model(nome: str) -> bool:
    """Whether the model is served by OpenAI (its ids and fine-tunes), not by our vLLM."""
    return nome.startswith(_OPENAI_PREFIXES)


def endpoint_for(nome: str, settings: Settings | None = None) -> str | None:
    """Where the bot calls `nome` when nothing else was recorded: OpenAI for OpenAI ids,
    the team's vLLM (as the bot reaches it) for open models; None if vLLM is not set."""
    if is_openai_model(nome):
        return OPENAI_ENDPOINT
    settings = settings or get_settings()
    return settings.vllm_url_bot or None


def model_in_use(cliente: Cliente) -> str:
    """The model id the bot must use now (the fine-tuned one, or the base model)."""
    return cliente.modelo_ativo or cliente.modelo_base


def endpoint_in_use(cliente: Cliente) -> str | None:
    """The base URL the bot must call now (recorded with the model, else derived)."""
    if cliente.modelo_ativo and cliente.modelo_endpoint:
        return cliente.modelo_endpoint
    return endpoint_for(model_in_use(cliente))


def write_model_to_redis(cliente: Cliente, client: redis_lib.Redis | None = None) -> bool:
    """Write both keys the bot reads, in one MSET; False when the cliente has no Redis
    source (or its model has no known endpoint, which is logged).

    Raises ServiceUnavailable when Redis does not answer (the database already holds the
    truth; the poller writes the keys again on its next cycle).
    """
    endpoint = endpoint_in_use(cliente)
    if not endpoint:
        log_event(logger, "redis_modelo_sem_endpoint", cliente=cliente.slug,
                  modelo=model_in_use(cliente), level=logging.WARNING)
        return False
    own = client is None
    if own:
        source = own_source(cliente)
        if source is None:
            return False
        client = connect(source, timeout=5)
    try:
        client.mset({redis_model_key(cliente): model_in_use(cliente),
                     redis_endpoint_key(cliente): endpoint})
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
                     alterado_por: str | None = None, fine_tuning_job_id: int | None = None,
                     endpoint: str | None = None) -> ModeloHistorico:
    """Change the model in use (None = base model) and where to call it (None = derived
    from the name), and record both; no Redis here (write_model_to_redis after commit)."""
    anterior, endpoint_anterior = cliente.modelo_ativo, endpoint_in_use(cliente)
    endpoint = endpoint if modelo is not None else None
    session.execute(update(Cliente).where(Cliente.id == cliente.id)
                    .values(modelo_ativo=modelo, modelo_endpoint=endpoint))
    cliente.modelo_ativo, cliente.modelo_endpoint = modelo, endpoint
    registro = ModeloHistorico(cliente_id=cliente.id, modelo_anterior=anterior, modelo_novo=modelo,
                               endpoint_anterior=endpoint_anterior,
                               endpoint_novo=endpoint_in_use(cliente),
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


def rollback_entry(session: Session, cliente: Cliente) -> tuple[str | None, str | None]:
    """(model, endpoint) a rollback goes to: what was in use before the current model
    ((None, None) = the base model)."""
    if cliente.modelo_ativo is None:
        return None, None
    for registro in list_model_history(session, cliente.id, limit=500):
        # A rollback is not where a model "came from": skip those to walk back in time.
        if registro.modelo_novo == cliente.modelo_ativo and not registro.motivo.startswith("rollback"):
            anterior = registro.modelo_anterior
            if anterior is None or anterior == cliente.modelo_ativo:
                return None, None
            return anterior, registro.endpoint_anterior
    return None, None


def rollback_target(session: Session, cliente: Cliente) -> str | None:
    """The model a rollback goes to (None = base)."""
    return rollback_entry(session, cliente)[0]


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
    alvo, endpoint = (None, None) if to_base else rollback_entry(session, cliente)
    shutdown_notices(session, alvo or cliente.modelo_base)  # never back to a dead model
    anterior = cliente.modelo_ativo
    set_active_model(session, cliente, alvo, motivo="rollback_base" if alvo is None else "rollback",
                     alterado_por=usuario, endpoint=endpoint)
    session.commit()
    log_event(logger, "modelo_revertido", cliente=cliente.slug, de=anterior,
              para=model_in_use(cliente), por=usuario)
    gravado = write_model_to_redis(cliente)
    return RollbackResult(anterior, alvo, model_in_use(cliente), gravado)


@dataclass(frozen=True)
class ApplyResult:
    modelo_anterior: str
    modelo_em_uso: str
    endpoint: str | None
    redis_gravado: bool
    avisos: tuple[str, ...] = ()


def shutdown_notices(session: Session, modelo: str, hoje: dt.date | None = None) -> tuple[str, ...]:
    """Refuse (pt-BR) a model past its shutdown date; warn about one shutting down within
    the warning window."""
    hoje = hoje or shutdown_dates.today()
    desligamento = shutdown_dates.shutdown_date(session, modelo)
    dias = shutdown_dates.days_left(desligamento, hoje)
    if dias is None or dias > get_settings().dias_aviso_desligamento:
        return ()
    data = f"{desligamento.data:%d/%m/%Y}"
    if dias <= 0:
        raise InvalidInput(f"O modelo {modelo} foi desligado pelo provedor em {data}: um bot "
                           "apontado para ele não receberia respostas. Escolha outro modelo.")
    return (f"Atenção: o modelo {modelo} será desligado pelo provedor em {data}, daqui a "
            f"{plural(dias, 'dia')}. Antes disso, treine um modelo aberto ou defina um modelo de "
            "contingência.",)


def apply_model(session: Session, slug: str, modelo: str, endpoint: str | None = None, *,
                usuario: str, motivo: str = "manual",
                fine_tuning_job_id: int | None = None,
                hoje: dt.date | None = None) -> ApplyResult:
    """Put `modelo` into use for the cliente by hand (the Clientes page, `python -m core
    modelo aplicar`, an approval): recorded, committed, then both Redis keys written.

    The model's name decides its endpoint when none is given (OpenAI or the team's vLLM).
    A model past its shutdown date is refused; one shutting down soon comes with a warning.
    """
    modelo = (modelo or "").strip()
    if not modelo:
        raise InvalidInput("Informe o nome do modelo.")
    endpoint = (endpoint or "").strip() or endpoint_for(modelo)
    if not endpoint:
        raise InvalidInput(f"Não sei onde o bot deve chamar o modelo {modelo}: informe o "
                           "endpoint ou defina CURADORIA_VLLM_URL.")
    if not endpoint.startswith(("http://", "https://")):
        raise InvalidInput(f"Endpoint inválido: {endpoint!r}. Use uma URL http(s)://.../v1.")
    avisos = shutdown_notices(session, modelo, hoje)
    cliente = get_cliente(session, slug)
    session.execute(select(Cliente.id).where(Cliente.id == cliente.id).with_for_update())
    session.refresh(cliente)
    anterior = model_in_use(cliente)
    novo = None if modelo == cliente.modelo_base and endpoint == endpoint_for(modelo) else modelo
    set_active_model(session, cliente, novo, motivo=motivo, alterado_por=usuario,
                     fine_tuning_job_id=fine_tuning_job_id, endpoint=endpoint)
    session.commit()
    log_event(logger, "modelo_aplicado_manual", cliente=cliente.slug, de=anterior,
              para=model_in_use(cliente), endpoint=endpoint, por=usuario, motivo=motivo)
    try:
        gravado = write_model_to_redis(cliente)
    except ServiceUnavailable as exc:
        log_event(logger, "redis_modelo_falhou", cliente=cliente.slug, erro=exc.mensagem,
                  level=logging.WARNING)
        gravado = False
    return ApplyResult(anterior, model_in_use(cliente), endpoint_in_use(cliente), gravado,
                       avisos)


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
    endpoint_em_uso: str | None = None


def describe_cliente_model(session: Session, slug: str) -> ClienteModelo:
    cliente = get_cliente(session, slug)
    return ClienteModelo(
        slug=cliente.slug, nome=cliente.nome, modelo_base=cliente.modelo_base,
        modelo_ativo=cliente.modelo_ativo, modelo_em_uso=model_in_use(cliente),
        alvo_rollback=rollback_target(session, cliente),
        pode_reverter=cliente.modelo_ativo is not None,
        chave_redis=redis_model_key(cliente), tem_redis=own_source(cliente) is not None,
        historico=list_model_history(session, cliente.id),
        endpoint_em_uso=endpoint_in_use(cliente),
    )
