"""Put a succeeded job's model into use: prepare it, pass the gate, apply it, once.

A job the provider reports as succeeded is closed by core.finetune.follow with
`implantacao = 'pendente'`; it does not serve customers yet. Then, right away in the same
cycle and again in later cycles until it is settled:

1. prepare: the provider makes the model callable and says how the bot reaches it
   (`Candidate`): for OpenAI the fine-tuned id on OpenAI's API, at once; for an open
   model, its LoRA adapter downloaded, verified, loaded into the team's vLLM and
   smoke-tested. A transient failure is retried next cycle; a permanent one closes the
   deployment as `falhou`. Either way the bot stays on its current model and the admins
   are notified once.
2. gate: the evaluation on held-out conversations (core.finetune.evaluate) decides
   whether the candidate may serve without a human (`aplicar`) or waits for approval
   (`aguardar`, `implantacao = 'aguardando_aprovacao'`).
3. apply: one transaction moves `implantacao` from pendente/aguardando_aprovacao to
   `aplicado` (a conditional UPDATE: two pollers or two admins apply once), changes the
   model in use with its endpoint (history row) and creates the notification; the two
   Redis keys the bot reads are written after the commit.

The claim is the same lease as follow's (`lease_dono`, `lease_ate`, taken and committed
in one statement); no provider call runs inside a transaction.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, or_, select, update

from core.clock import utcnow
from core.config import get_settings
from core.db import session_scope
from core.db.tables import Cliente, FineTuningJob
from core.errors import InvalidInput, NotFound, ServiceUnavailable
from core.finetune.deploy import (
    endpoint_for,
    model_in_use,
    set_active_model,
    shutdown_notices,
    write_model_to_redis,
)
from core.finetune.provider import FineTuningProvider, ProviderError
from core.logs import log_event
from core.poller.notify import create_notification

logger = logging.getLogger("curadoria.finetune")

RETRY_DELAY = dt.timedelta(minutes=5)
# Deployment states from which the model can still go into use.
APPLICABLE = ("pendente", "aguardando_aprovacao")


@dataclass(frozen=True)
class Candidate:
    """The new model as the bot will call it."""

    modelo: str
    endpoint: str


@dataclass(frozen=True)
class DeployRequest:
    """What a provider needs to prepare a finished job's model."""

    job_id: int
    slug: str
    provider_job_id: str | None
    modelo_base: str | None
    modelo_fine_tuned: str


ProviderFactory = Callable[[str], FineTuningProvider]
# (engine, job id, candidate) -> "aplicar" | "aguardar"
Gate = Callable[[Engine, int, Candidate], str]


def prepare_candidate(provider: FineTuningProvider, request: DeployRequest) -> Candidate:
    """Ask the provider to make the model callable; providers without a preparation step
    (OpenAI: the fine-tune is served by the API that trained it) answer at once."""
    prepare = getattr(provider, "prepare_model", None)
    if prepare is not None:
        return prepare(request)
    endpoint = endpoint_for(request.modelo_fine_tuned)
    if not endpoint:
        raise ProviderError(f"Não sei onde o bot deve chamar {request.modelo_fine_tuned}.")
    return Candidate(request.modelo_fine_tuned, endpoint)


def no_gate(engine: Engine, job_id: int, candidate: Candidate) -> str:
    """Apply without evaluation (the gate turned off)."""
    return "aplicar"


def default_gate() -> Gate:
    """The gate the poller uses: the evaluation when it is on, else none."""
    if not getattr(get_settings(), "avaliacao_ativa", False):
        return no_gate
    from core.finetune.gate import evaluation_gate

    return evaluation_gate


def pending_deployments(now: dt.datetime | None = None, *, engine: Engine) -> list[tuple[int, str]]:
    """(id, provider) of every succeeded job whose deployment is due."""
    now = now or utcnow()
    with session_scope(engine) as session:
        return [(row.id, row.provedor) for row in session.execute(
            select(FineTuningJob.id, FineTuningJob.provedor)
            .where(FineTuningJob.status == "succeeded", FineTuningJob.implantacao == "pendente",
                   or_(FineTuningJob.implantacao_proxima_em.is_(None),
                       FineTuningJob.implantacao_proxima_em <= now))
            .order_by(FineTuningJob.id))]


def claim_deployment(engine: Engine, job_id: int, owner: str,
                     now: dt.datetime | None = None) -> bool:
    """Take the job's lease for its deployment and commit at once (False: someone else
    holds it, or it is settled already)."""
    now = now or utcnow()
    lease = dt.timedelta(seconds=get_settings().poller_lease_seconds)
    claimable = (select(FineTuningJob.id)
                 .where(FineTuningJob.id == job_id, FineTuningJob.status == "succeeded",
                        FineTuningJob.implantacao == "pendente",
                        or_(FineTuningJob.lease_ate.is_(None), FineTuningJob.lease_ate < now))
                 .with_for_update(skip_locked=True))
    with session_scope(engine) as session:
        return session.execute(
            update(FineTuningJob).where(FineTuningJob.id.in_(claimable))
            .values(lease_dono=owner, lease_ate=now + lease)
            .execution_options(synchronize_session=False)).rowcount == 1


def release_deployment(engine: Engine, job_id: int, owner: str) -> None:
    with session_scope(engine) as session:
        session.execute(update(FineTuningJob)
                        .where(FineTuningJob.id == job_id, FineTuningJob.lease_dono == owner)
                        .values(lease_dono=None, lease_ate=None))


def _request(engine: Engine, job_id: int) -> tuple[DeployRequest, str]:
    with session_scope(engine) as session:
        job = session.get(FineTuningJob, job_id)
        slug = session.get(Cliente, job.cliente_id).slug
        return DeployRequest(job.id, slug, job.openai_job_id, job.modelo_base,
                             job.modelo_fine_tuned), job.provedor


def _record_failure(engine: Engine, job_id: int, exc: ProviderError) -> str:
    """Keep the bot where it is, say why once; retry later unless it cannot succeed."""
    final = not exc.transient
    now = utcnow()
    with session_scope(engine) as session:
        job = session.get(FineTuningJob, job_id)
        cliente = session.get(Cliente, job.cliente_id)
        values = {"implantacao_erro": exc.mensagem[:2000],
                  "implantacao_tentativas": FineTuningJob.implantacao_tentativas + 1,
                  "implantacao_proxima_em": None if final else now + RETRY_DELAY}
        if final:
            values["implantacao"] = "falhou"
        session.execute(update(FineTuningJob).where(FineTuningJob.id == job_id).values(**values))
        proximo = ("Não será tentado de novo." if final
                   else "Será tentado de novo no próximo ciclo do poller.")
        create_notification(
            session, chave=f"implantacao:{job_id}:{'falhou' if final else 'erro'}",
            tipo="implantacao_falhou",
            titulo=f"Novo modelo de {cliente.nome} não pôde ser colocado em uso",
            mensagem=f"{exc.mensagem} O bot continua com o modelo {model_in_use(cliente)}. "
                     f"{proximo}",
            cliente_id=cliente.id, fine_tuning_job_id=job_id)
    log_event(logger, "implantacao_falhou" if final else "implantacao_adiada", job=job_id,
              erro=exc.mensagem, level=logging.WARNING)
    return "falhou" if final else "adiado"


def _store_candidate(engine: Engine, job_id: int, candidate: Candidate) -> None:
    with session_scope(engine) as session:
        session.execute(update(FineTuningJob).where(FineTuningJob.id == job_id).values(
            modelo_implantado=candidate.modelo[:200], endpoint_implantado=candidate.endpoint[:500],
            implantacao_erro=None, implantacao_proxima_em=None))


def hold_for_approval(engine: Engine, job_id: int, motivo: str) -> str:
    """The candidate waits for an admin: the bot is untouched; one notification."""
    with session_scope(engine) as session:
        done = session.execute(
            update(FineTuningJob)
            .where(FineTuningJob.id == job_id, FineTuningJob.implantacao == "pendente")
            .values(implantacao="aguardando_aprovacao", implantacao_erro=motivo[:2000])).rowcount
        if not done:
            return "ignorado"
        job = session.get(FineTuningJob, job_id)
        cliente = session.get(Cliente, job.cliente_id)
        create_notification(
            session, chave=f"implantacao:{job_id}:aguardando", tipo="implantacao_aguardando",
            titulo=f"Novo modelo de {cliente.nome} aguarda aprovação",
            mensagem=f"{motivo} O bot continua com o modelo {model_in_use(cliente)} até um "
                     "administrador aprovar ou rejeitar.",
            cliente_id=cliente.id, fine_tuning_job_id=job_id)
    log_event(logger, "implantacao_aguardando", job=job_id, motivo=motivo)
    return "aguardando"


def apply_job_model(engine: Engine, job_id: int, *, por: str) -> str:
    """Put the job's prepared model into use, once: 'aplicado', or 'ignorado' when it is
    settled already (another poller, another admin) or was never prepared."""
    now = utcnow()
    with session_scope(engine) as session:
        done = session.execute(
            update(FineTuningJob)
            .where(FineTuningJob.id == job_id, FineTuningJob.status == "succeeded",
                   FineTuningJob.implantacao.in_(APPLICABLE),
                   FineTuningJob.modelo_implantado.is_not(None))
            .values(implantacao="aplicado", aplicado_em=now, implantacao_erro=None)).rowcount
        if not done:
            return "ignorado"
        job = session.get(FineTuningJob, job_id, populate_existing=True)
        try:
            shutdown_notices(session, job.modelo_implantado)
        except InvalidInput as exc:  # a model past its shutdown date never goes into use
            job.implantacao, job.implantacao_erro, job.aplicado_em = "falhou", exc.mensagem, None
            log_event(logger, "implantacao_modelo_desligado", job=job_id,
                      modelo=job.modelo_implantado, level=logging.WARNING)
            return "falhou"
        cliente = session.get(Cliente, job.cliente_id)
        set_active_model(session, cliente, job.modelo_implantado, motivo="fine_tuning",
                         alterado_por=por, fine_tuning_job_id=job.id,
                         endpoint=job.endpoint_implantado)
        custo = f" Custo real: US$ {job.custo_real_usd}." if job.custo_real_usd is not None else ""
        create_notification(
            session, chave=f"fine_tuning:{job.id}:concluido", tipo="fine_tuning_concluido",
            titulo=f"Fine-tuning de {cliente.nome} concluído",
            mensagem=f"O modelo {job.modelo_implantado} já está em uso pelo bot de "
                     f"{cliente.nome}.{custo}",
            cliente_id=cliente.id, fine_tuning_job_id=job.id)
        fields = {"job": job.id, "cliente": cliente.slug, "provedor_job": job.openai_job_id,
                  "modelo": job.modelo_implantado, "endpoint": job.endpoint_implantado,
                  "trained_tokens": job.trained_tokens, "custo_usd": job.custo_real_usd,
                  "por": por}
    _write_keys_after_commit(engine, job_id, fields)
    return "aplicado"


def _write_keys_after_commit(engine: Engine, job_id: int, fields: dict) -> None:
    with session_scope(engine) as session:
        job = session.get(FineTuningJob, job_id)
        cliente = session.get(Cliente, job.cliente_id)
        try:
            gravado = write_model_to_redis(cliente)
        except ServiceUnavailable as exc:  # the poller re-syncs the keys every cycle
            gravado = False
            log_event(logger, "redis_modelo_falhou", cliente=cliente.slug, erro=exc.mensagem,
                      level=logging.WARNING)
    log_event(logger, "modelo_aplicado", **fields, redis=gravado)


def deploy_job(engine: Engine, job_id: int, provider: FineTuningProvider, *, owner: str,
               gate: Gate | None = None) -> str:
    """Prepare, gate and apply one succeeded job's model.

    Returns aplicado | aguardando | adiado | falhou | ignorado."""
    if not claim_deployment(engine, job_id, owner):
        return "ignorado"
    try:
        request, _ = _request(engine, job_id)
        try:
            candidate = prepare_candidate(provider, request)
        except ProviderError as exc:
            return _record_failure(engine, job_id, exc)
        _store_candidate(engine, job_id, candidate)
        decision = (gate or default_gate())(engine, job_id, candidate)
        if decision != "aplicar":
            return hold_for_approval(engine, job_id, decision if decision != "aguardar" else
                                     "O novo modelo não se saiu melhor que o atual na avaliação.")
        return apply_job_model(engine, job_id, por="poller")
    finally:
        release_deployment(engine, job_id, owner)


def deploy_pending(engine: Engine, provider_factory: ProviderFactory, *, owner: str,
                   gate: Gate | None = None,
                   should_stop: Callable[[], bool] = lambda: False) -> list[tuple[int, str]]:
    """Deploy every succeeded job still pending; one bad job never stops the others."""
    results = []
    for job_id, provedor in pending_deployments(engine=engine):
        if should_stop():
            break
        try:
            acao = deploy_job(engine, job_id, provider_factory(provedor), owner=owner, gate=gate)
        except ProviderError as exc:
            acao = _record_failure(engine, job_id, exc)
        except Exception as exc:  # noqa: BLE001 - never let one job stop the cycle
            acao = "erro"
            logger.exception("acao=implantacao_erro job=%s erro=%r", job_id, exc)
        results.append((job_id, acao))
    return results


def approve_job(engine: Engine, job_id: int, *, usuario: str) -> str:
    """An admin lets a held model serve (the CLI's `finetune aprovar`, the page's button)."""
    with session_scope(engine) as session:
        job = session.get(FineTuningJob, job_id)
        if job is None:
            raise NotFound(f"Job de fine-tuning {job_id} não encontrado.")
        estado = job.implantacao
    if estado == "aplicado":
        return "ignorado"
    if estado != "aguardando_aprovacao":
        raise InvalidInput(f"O job {job_id} não está aguardando aprovação "
                           f"(situação: {estado or job.status}).")
    return apply_job_model(engine, job_id, por=usuario)


def reject_job(engine: Engine, job_id: int, *, usuario: str) -> str:
    """An admin keeps the current model: the candidate never serves."""
    with session_scope(engine) as session:
        job = session.get(FineTuningJob, job_id)
        if job is None:
            raise NotFound(f"Job de fine-tuning {job_id} não encontrado.")
        done = session.execute(
            update(FineTuningJob)
            .where(FineTuningJob.id == job_id, FineTuningJob.implantacao.in_(APPLICABLE))
            .values(implantacao="rejeitado",
                    implantacao_erro=f"Rejeitado por {usuario}.")).rowcount
        if not done:
            if job.implantacao == "rejeitado":
                return "ignorado"
            raise InvalidInput(f"O job {job_id} não pode mais ser rejeitado "
                               f"(situação: {job.implantacao or job.status}).")
    log_event(logger, "implantacao_rejeitada", job=job_id, por=usuario)
    return "rejeitado"
