"""No bot left on a dead model: each cliente's shutdown countdown, its contingency model,
and the guard the poller runs to move a bot off a model before the provider shuts it down.

The guard moves a cliente whose model shuts down within `dias_antes_desligamento` days
(or already did) to its newest succeeded fine-tune that is not shutting down, else to its
contingency model (the cliente's own, else the global setting). The move goes through
`deploy.set_active_model` like any change (history motivo 'desligamento'), writes both
Redis keys and notifies once. Without a usable target it changes nothing and notifies
once a day. It is not gated by the evaluation: a dead model answers nothing at all.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from core.formato import plural
from core.clientes.directory import get_cliente
from core.config import Settings, get_settings
from core.db import session_scope
from core.db.tables import Cliente, FineTuningJob
from core.errors import InvalidInput, ServiceUnavailable
from core.finetune.deploy import (
    endpoint_for,
    endpoint_in_use,
    is_openai_model,
    model_in_use,
    set_active_model,
    write_model_to_redis,
)
from core.finetune.shutdown_dates import (
    Desligamento,
    KnownDates,
    days_left,
    known_dates,
    resolve_shutdown,
)
from core.finetune import shutdown_dates
from core.logs import log_event
from core.poller.notify import create_notification

logger = logging.getLogger("curadoria.finetune")
MOTIVO = "desligamento"


@dataclass(frozen=True)
class ModeloStatus:
    """One cliente's model and how long it still answers."""

    slug: str
    nome: str
    modelo: str
    provedor: str
    endpoint: str | None
    desligamento: dt.date | None
    fonte: str | None  # api | catalogo | None
    dias_restantes: int | None
    contingencia: str | None
    contingencia_endpoint: str | None
    contingencia_utilizavel: bool = False  # does not shut down within the warning window


def contingency_for(cliente: Cliente, settings: Settings | None = None
                    ) -> tuple[str | None, str | None]:
    """(model, endpoint) of the cliente's contingency: its own, else the global setting."""
    if cliente.modelo_contingencia:
        return (cliente.modelo_contingencia,
                cliente.modelo_contingencia_endpoint or endpoint_for(cliente.modelo_contingencia))
    settings = settings or get_settings()
    if settings.modelo_contingencia:
        return settings.modelo_contingencia, settings.modelo_contingencia_endpoint
    return None, None


def _status(cliente: Cliente, known: KnownDates, hoje: dt.date) -> ModeloStatus:
    modelo = model_in_use(cliente)
    desligamento = resolve_shutdown(modelo, known)
    contingencia, contingencia_endpoint = contingency_for(cliente)
    return ModeloStatus(
        slug=cliente.slug, nome=cliente.nome, modelo=modelo,
        provedor="openai" if is_openai_model(modelo) else "vllm",
        endpoint=endpoint_in_use(cliente),
        desligamento=desligamento.data if desligamento else None,
        fonte=desligamento.fonte if desligamento else None,
        dias_restantes=days_left(desligamento, hoje),
        contingencia=contingencia, contingencia_endpoint=contingencia_endpoint,
        contingencia_utilizavel=_usable(contingencia, known, hoje))


def model_status_for_all(session: Session, hoje: dt.date | None = None) -> list[ModeloStatus]:
    """Every cliente's model in use, where it is called, and its shutdown countdown."""
    hoje = hoje or shutdown_dates.today()
    known = known_dates(session)
    return [_status(c, known, hoje)
            for c in session.scalars(select(Cliente).order_by(Cliente.nome))]


def model_status(session: Session, slug: str, hoje: dt.date | None = None) -> ModeloStatus:
    """One cliente's model, endpoint and shutdown countdown."""
    return _status(get_cliente(session, slug), known_dates(session),
                   hoje or shutdown_dates.today())


def own_contingency(session: Session, slug: str) -> tuple[str | None, str | None]:
    """The cliente's own contingency (None = the global setting applies)."""
    cliente = get_cliente(session, slug)
    return cliente.modelo_contingencia, cliente.modelo_contingencia_endpoint


def shutdown_warnings(session: Session, hoje: dt.date | None = None) -> list[ModeloStatus]:
    """The clientes whose model shuts down within the warning window, soonest first."""
    janela = get_settings().dias_aviso_desligamento
    avisos = [s for s in model_status_for_all(session, hoje)
              if s.dias_restantes is not None and s.dias_restantes <= janela]
    return sorted(avisos, key=lambda s: s.dias_restantes)


def _quando(dias: int) -> str:
    if dias <= 0:
        return "hoje" if dias == 0 else f"há {-dias} dia{'s' if dias < -1 else ''}"
    return f"daqui a {dias} dia{'s' if dias > 1 else ''}"


def warning_text(status: ModeloStatus) -> str:
    """pt-BR: what happens, when, and what to do, for one cliente."""
    data = f"{status.desligamento:%d/%m/%Y}"
    if status.dias_restantes < 0:
        o_que = (f"O modelo {status.modelo} do cliente {status.nome} foi desligado "
                 f"pelo provedor em {data} ({_quando(status.dias_restantes)}): o bot não "
                 "recebe mais respostas.")
    else:
        o_que = (f"O modelo {status.modelo} do cliente {status.nome} será desligado "
                 f"pelo provedor em {data}, {_quando(status.dias_restantes)}. A partir daí o "
                 "bot deixará de responder.")
    antes = get_settings().dias_antes_desligamento
    if status.contingencia and not status.contingencia_utilizavel:
        plano = (f"O modelo de contingência {status.contingencia} também será desligado em "
                 "breve e não será usado: defina outro.")
    elif status.contingencia:
        plano = (f"O poller trocará o bot sozinho {plural(antes, 'dia')} antes para o fine-tune mais "
                 "novo que não será desligado ou, se não houver, para o modelo de contingência "
                 f"{status.contingencia}.")
    else:
        plano = ("Não há modelo de contingência definido: se nada for feito, o bot ficará sem "
                 "modelo.")
    return (f"{o_que} {plano} O que fazer: inicie um fine-tuning com um modelo aberto "
            "(página Fine-tuning, provedor Together AI) ou defina um modelo de contingência "
            "(página Clientes).")


# --- the contingency ------------------------------------------------------------------

def check_contingency(session: Session, modelo: str, hoje: dt.date | None = None) -> None:
    """Refuse (pt-BR) a contingency that itself shuts down within the warning window."""
    hoje = hoje or shutdown_dates.today()
    desligamento = resolve_shutdown(modelo, known_dates(session))
    dias = days_left(desligamento, hoje)
    janela = get_settings().dias_aviso_desligamento
    if dias is not None and dias <= janela:
        quando = "já foi desligado" if dias < 0 else f"será desligado {_quando(dias)}"
        raise InvalidInput(
            f"O modelo {modelo} não serve de contingência: ele também {quando} "
            f"({desligamento.data:%d/%m/%Y}). Escolha um modelo sem data de desligamento "
            f"nos próximos {janela} dias.")


def set_contingency(session: Session, slug: str, modelo: str | None,
                    endpoint: str | None = None, *, hoje: dt.date | None = None) -> Cliente:
    """Set the cliente's own contingency (empty = use the global setting)."""
    cliente = get_cliente(session, slug)
    modelo = (modelo or "").strip() or None
    endpoint = (endpoint or "").strip() or None
    if modelo:
        check_contingency(session, modelo, hoje)
        endpoint = endpoint or endpoint_for(modelo)
        if not endpoint or not endpoint.startswith(("http://", "https://")):
            raise InvalidInput("Informe o endpoint (URL http(s)://.../v1) onde o bot chama o "
                               f"modelo de contingência {modelo}.")
    cliente.modelo_contingencia = modelo
    cliente.modelo_contingencia_endpoint = endpoint if modelo else None
    session.flush()
    log_event(logger, "contingencia_definida", cliente=slug, modelo=modelo, endpoint=endpoint)
    return cliente


# --- the guard -------------------------------------------------------------------------

@dataclass
class GuardSummary:
    movidos: list[str] = field(default_factory=list)  # slugs
    sem_alvo: list[str] = field(default_factory=list)


def _usable(modelo: str | None, known: KnownDates, hoje: dt.date) -> bool:
    """A target must not shut down within the warning window."""
    if not modelo:
        return False
    dias = days_left(resolve_shutdown(modelo, known), hoje)
    return dias is None or dias > get_settings().dias_aviso_desligamento


def _due(cliente: Cliente, known: KnownDates, hoje: dt.date) -> Desligamento | None:
    desligamento = resolve_shutdown(model_in_use(cliente), known)
    dias = days_left(desligamento, hoje)
    if dias is not None and dias <= get_settings().dias_antes_desligamento:
        return desligamento
    return None


def find_target(session: Session, cliente: Cliente, known: KnownDates,
                hoje: dt.date) -> tuple[str, str, str] | None:
    """(model, endpoint, what it is) to move to: the newest succeeded fine-tune of the
    cliente that is not shutting down, else its contingency; None when neither works."""
    jobs = session.scalars(
        select(FineTuningJob)
        .where(FineTuningJob.cliente_id == cliente.id, FineTuningJob.status == "succeeded",
               or_(FineTuningJob.implantacao == "aplicado",
                   FineTuningJob.modelo_implantado.is_not(None)),
               # An admin's "no" stands: a rejected model is never put back in use.
               or_(FineTuningJob.implantacao.is_(None),
                   FineTuningJob.implantacao.not_in(("rejeitado", "falhou"))))
        .order_by(FineTuningJob.completed_at.desc().nulls_last(), FineTuningJob.id.desc()))
    atual = model_in_use(cliente)
    for job in jobs:
        modelo = job.modelo_implantado or job.modelo_fine_tuned
        endpoint = job.endpoint_implantado or (endpoint_for(modelo) if modelo else None)
        if modelo and modelo != atual and endpoint and _usable(modelo, known, hoje):
            return modelo, endpoint, f"o fine-tune mais novo (job {job.id})"
    modelo, endpoint = contingency_for(cliente)
    if modelo and modelo != atual and endpoint and _usable(modelo, known, hoje):
        return modelo, endpoint, "o modelo de contingência"
    return None


def move_off_dying_model(engine: Engine, cliente_id: int, *, hoje: dt.date,
                         por: str = "poller") -> str:
    """Move one cliente if its model is (still) about to shut down: 'movido', 'sem_alvo'
    or 'ignorado' (not due, e.g. another poller moved it first)."""
    with session_scope(engine) as session:
        # The first statement locks the cliente row (PostgreSQL) or the database (SQLite),
        # so two pollers decide one after the other and the second sees the first's move.
        session.execute(update(Cliente).where(Cliente.id == cliente_id)
                        .values(modelo_ativo=Cliente.modelo_ativo)
                        .execution_options(synchronize_session=False))
        cliente = session.get(Cliente, cliente_id, populate_existing=True)
        if cliente is None:
            return "ignorado"
        known = known_dates(session)
        desligamento = _due(cliente, known, hoje)
        if desligamento is None:
            return "ignorado"
        alvo = find_target(session, cliente, known, hoje)
        if alvo is None:
            _notify_no_target(session, cliente, desligamento, hoje)
            return "sem_alvo"
        anterior = model_in_use(cliente)
        modelo, endpoint, origem = alvo
        registro = set_active_model(session, cliente, modelo, motivo=MOTIVO, alterado_por=por,
                                    endpoint=endpoint)
        quando = "foi desligado" if desligamento.data <= hoje else "será desligado"
        create_notification(
            session, chave=f"desligamento:{cliente.id}:{registro.id}", tipo="modelo_desligamento",
            titulo=f"Bot de {cliente.nome} trocado de modelo (desligamento)",
            mensagem=f"O modelo {anterior} {quando} pelo provedor em "
                     f"{desligamento.data:%d/%m/%Y}; o bot de {cliente.nome} passou a usar "
                     f"{modelo} ({origem}, em {endpoint}).",
            cliente_id=cliente.id)
    log_event(logger, "modelo_trocado_desligamento", cliente=cliente.slug, de=anterior,
              para=modelo, endpoint=endpoint, desligamento=desligamento.data.isoformat())
    _write_keys(engine, cliente_id)
    return "movido"


def _notify_no_target(session: Session, cliente: Cliente, desligamento: Desligamento,
                      hoje: dt.date) -> None:
    modelo = model_in_use(cliente)
    criada = create_notification(
        session, chave=f"desligamento_sem_alvo:{cliente.id}:{hoje.isoformat()}",
        tipo="modelo_desligamento_urgente",
        titulo=f"URGENTE: o bot de {cliente.nome} vai ficar sem modelo",
        mensagem=f"O modelo {modelo} {'foi' if desligamento.data <= hoje else 'será'} "
                 f"desligado pelo provedor em {desligamento.data:%d/%m/%Y} e não há para onde "
                 "trocar o bot: nenhum fine-tune sem data de desligamento próxima e nenhum "
                 "modelo de contingência utilizável. Defina um modelo de contingência na "
                 "página Clientes ou treine um modelo aberto.",
        cliente_id=cliente.id)
    if criada:
        log_event(logger, "desligamento_sem_alvo", cliente=cliente.slug, modelo=modelo,
                  desligamento=desligamento.data.isoformat(), level=logging.ERROR)


def _write_keys(engine: Engine, cliente_id: int) -> None:
    with session_scope(engine) as session:
        cliente = session.get(Cliente, cliente_id)
        try:
            write_model_to_redis(cliente)
        except ServiceUnavailable as exc:  # sync_models_to_redis heals it this cycle
            log_event(logger, "redis_modelo_falhou", cliente=cliente.slug, erro=exc.mensagem,
                      level=logging.WARNING)


def guard_shutdowns(engine: Engine, *, hoje: dt.date | None = None,
                    por: str = "poller") -> GuardSummary:
    """Move every cliente whose model shuts down within `dias_antes_desligamento` days."""
    hoje = hoje or shutdown_dates.today()
    with session_scope(engine) as session:
        known = known_dates(session)
        due = [(c.id, c.slug) for c in session.scalars(select(Cliente).order_by(Cliente.id))
               if _due(c, known, hoje)]
    summary = GuardSummary()
    for cliente_id, slug in due:
        acao = move_off_dying_model(engine, cliente_id, hoje=hoje, por=por)
        if acao == "movido":
            summary.movidos.append(slug)
        elif acao == "sem_alvo":
            summary.sem_alvo.append(slug)
    return summary
