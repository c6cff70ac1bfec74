"""Follow fine-tuning jobs: progress, then apply the model or record the error, once.

Exactly once, whatever happens: the transition out of pending/running is a conditional
UPDATE (``WHERE status IN ('pending', 'running')``) made in the same transaction as the
model change, its history row and the notification (unique `chave`). A second poller, or
the same one restarted after a kill -9, finds the job already closed and does nothing.
Claims only avoid asking the provider twice: a poller takes a job's lease
(`lease_dono`, `lease_ate`) in one statement that commits at once (`claim_job`, the same
on both databases), asks the provider outside any transaction, records the answer under
the guard above and gives the lease back. A poller that dies holding a lease leaves it to
run out (CURADORIA_POLLER_LEASE_SECONDS). The Redis key the bot reads is written after
the commit and re-synced every cycle.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.config import get_settings
from core.db import session_scope
from core.db.tables import JOB_ABERTO, Cliente, FineTuningJob
from core.finetune.deploy import model_in_use
from core.finetune.provider import FineTuningProvider, JobNotFound, ProviderError, ProviderJob
from core.logs import log_event
from core.poller.notify import create_notification

logger = logging.getLogger("curadoria.finetune")

MAX_BACKOFF_SECONDS = 60.0
# Training price per 1M tokens (USD), used only when the job has no estimate to scale.
TRAINING_PRICE_PER_M = {
    "gpt-4o-mini-2024-07-18": Decimal("3.00"),
    "gpt-4o-2024-08-06": Decimal("25.00"),
    "gpt-4.1-2025-04-14": Decimal("25.00"),
    "gpt-4.1-mini-2025-04-14": Decimal("5.00"),
    "gpt-4.1-nano-2025-04-14": Decimal("1.50"),
}
CENTS = Decimal("0.01")

ProviderFactory = Callable[[str], FineTuningProvider]


def poller_name() -> str:
    """This process's identity (lease owner, heartbeat row)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class CheckSummary:
    """What one pass over the open jobs did."""

    verificados: int = 0
    atualizados: int = 0
    aplicados: int = 0
    falhas: int = 0  # jobs that ended failed or cancelled
    transitorios: int = 0  # provider still unavailable after the retries (tried next cycle)
    erros: int = 0  # unexpected errors on one job (logged; the others went on)
    ignorados: int = 0  # claimed by another poller, closed meanwhile, or not due yet
    detalhes: list[tuple[int, str]] = field(default_factory=list)


def real_cost_usd(job: FineTuningJob, trained_tokens: int | None) -> Decimal | None:
    """The billed cost: the estimate scaled to the real tokens, or the price table."""
    if not trained_tokens:
        return None
    if job.tokens_estimados and job.custo_estimado_usd:
        value = Decimal(job.custo_estimado_usd) * trained_tokens / job.tokens_estimados
    else:
        prices = getattr(get_settings(), "precos_treino_usd", None) or TRAINING_PRICE_PER_M
        price = prices.get(job.modelo_base or "")
        if price is None:
            return None
        value = Decimal(price) * trained_tokens / Decimal(1_000_000)
    return value.quantize(CENTS, ROUND_HALF_UP)


def real_cost_brl(job: FineTuningJob, usd: Decimal | None) -> Decimal | None:
    """BRL at the same rate as the estimate (custo_estimado / custo_estimado_usd)."""
    if usd is None:
        return None
    if not job.custo_estimado or not job.custo_estimado_usd:
        rate = getattr(get_settings(), "cambio_usd_brl", None)
        return None if rate is None else (usd * Decimal(rate)).quantize(CENTS, ROUND_HALF_UP)
    return (usd * Decimal(job.custo_estimado) / Decimal(job.custo_estimado_usd)).quantize(
        CENTS, ROUND_HALF_UP)


def estimate_finish(job: FineTuningJob, progress: int | None,
                    now: dt.datetime) -> dt.datetime | None:
    """Linear projection from the time spent so far and the progress."""
    if not progress or progress <= 0 or progress >= 100 or job.created_at is None:
        return None
    elapsed = now - job.created_at
    if elapsed.total_seconds() <= 0:
        return None
    return now + elapsed * ((100 - progress) / progress)


def retry_after_seconds(exc: BaseException) -> float | None:
    """The provider's Retry-After, from the error or the HTTP answer behind it."""
    value = getattr(exc, "retry_after", None)
    if value is not None:
        return float(value)
    response = getattr(exc.__cause__, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000
        if headers.get("retry-after"):
            return float(headers["retry-after"])
    except (TypeError, ValueError):
        return None  # an HTTP date: fall back to our own backoff
    return None


def fetch_job(provider: FineTuningProvider, provider_job_id: str, *,
              sleep: Callable[[float], object] = time.sleep, job_id: int | None = None) -> ProviderJob:
    """get_job with retries on transient errors (backoff, Retry-After honoured)."""
    settings = get_settings()
    tentativas = settings.poller_max_tentativas
    for tentativa in range(1, tentativas + 1):
        try:
            return provider.get_job(provider_job_id)
        except ProviderError as exc:
            if not exc.transient or tentativa == tentativas:
                raise
            retry_after = retry_after_seconds(exc)
            if retry_after is not None and retry_after > MAX_BACKOFF_SECONDS:
                raise  # too long to wait inside a cycle: the job's next check is set later
            delay = (float(retry_after) if retry_after is not None
                     else min(settings.poller_backoff_seconds * 2 ** (tentativa - 1),
                              MAX_BACKOFF_SECONDS))
            log_event(logger, "provedor_retentativa", job=job_id, provedor_job=provider_job_id,
                      tentativa=tentativa, espera_s=round(delay, 2), erro=exc.mensagem,
                      level=logging.WARNING)
            if sleep(delay) is True:  # threading.Event.wait: a stop was requested
                raise
    raise AssertionError("unreachable")


def _progress_values(job: FineTuningJob, remote: ProviderJob, now: dt.datetime) -> dict:
    values: dict = {"status_provedor": remote.status[:40] if remote.status else None,
                    "verificado_em": now, "atualizado_em": now, "falhas_transitorias": 0,
                    "proxima_verificacao_em": None, "ultimo_erro_transitorio": None}
    if remote.progress is not None:
        values["progresso"] = max(0, min(100, int(remote.progress)))
    previsao = remote.estimated_finish or estimate_finish(job, remote.progress, now)
    if previsao is not None:
        values["previsao_conclusao"] = previsao
    return values


def _provider_error(remote: ProviderJob) -> str:
    return remote.error_message or "O provedor não informou o motivo."


def record_job_state(session: Session, job: FineTuningJob, remote: ProviderJob, *,
                     owner: str | None = None, now: dt.datetime | None = None) -> str:
    """Write what the provider said about a job; applies / notifies at most once.

    The first statement is a conditional UPDATE (guarded by the open status and, with
    `owner`, by our lease), so that the decision and the effects share one transaction.
    A success only closes the job (`implantacao = 'pendente'`): core.finetune.rollout then
    prepares, evaluates and applies its model.
    Returns the action: atualizado | concluido | falhou | cancelado | ignorado.
    """
    now = now or utcnow()
    status = remote.seed_status
    values = _progress_values(job, remote, now)
    guard = [FineTuningJob.id == job.id, FineTuningJob.status.in_(JOB_ABERTO)]
    if owner is not None:
        guard.append(FineTuningJob.lease_dono == owner)
    if status in JOB_ABERTO:
        values["status"] = status
        done = session.execute(update(FineTuningJob).where(*guard).values(**values)).rowcount
        return "atualizado" if done else "ignorado"

    if status == "succeeded" and not remote.fine_tuned_model:
        status = "failed"
        remote = ProviderJob(id=remote.id, status="failed",
                             error_message="O provedor informou sucesso, mas sem o nome do "
                             "modelo treinado.")
    values.update(status=status, completed_at=now, lease_dono=None, lease_ate=None)
    if status == "succeeded":
        usd = real_cost_usd(job, remote.trained_tokens)
        values.update(modelo_fine_tuned=remote.fine_tuned_model[:100],
                      trained_tokens=remote.trained_tokens, progresso=100,
                      previsao_conclusao=None, custo_real_usd=usd,
                      custo_real=real_cost_brl(job, usd), erro=None, implantacao="pendente")
    else:
        values.update(erro=_provider_error(remote) if status == "failed"
                      else (remote.error_message or "Job cancelado no provedor."),
                      previsao_conclusao=None)
    if not session.execute(update(FineTuningJob).where(*guard).values(**values)).rowcount:
        return "ignorado"  # another poller (or an earlier run) closed it already
    job = session.get(FineTuningJob, job.id, populate_existing=True)
    cliente = session.get(Cliente, job.cliente_id)
    if status == "succeeded":
        return "concluido"  # core.finetune.rollout puts the model into use
    rotulo = "falhou" if status == "failed" else "foi cancelado"
    create_notification(
        session, chave=f"fine_tuning:{job.id}:{status}", tipo=f"fine_tuning_{status}",
        titulo=f"Fine-tuning de {cliente.nome} {rotulo}",
        mensagem=f"{job.erro} O bot continua com o modelo {model_in_use(cliente)}.",
        cliente_id=cliente.id, fine_tuning_job_id=job.id)
    return "falhou" if status == "failed" else "cancelado"


def _record_transient(session: Session, job_id: int, exc: ProviderError, now: dt.datetime) -> None:
    retry_after = retry_after_seconds(exc)
    values = {"falhas_transitorias": FineTuningJob.falhas_transitorias + 1,
              "ultimo_erro_transitorio": exc.mensagem[:2000], "verificado_em": now,
              "proxima_verificacao_em": (now + dt.timedelta(seconds=float(retry_after))
                                         if retry_after else None)}
    session.execute(update(FineTuningJob).where(FineTuningJob.id == job_id).values(**values))


def _apply_effects(engine: Engine, job_id: int, acao: str) -> None:
    """After the commit: the Redis key (re-synced each cycle if this fails) and a log line."""
    with session_scope(engine) as session:
        job = session.get(FineTuningJob, job_id)
        cliente = session.get(Cliente, job.cliente_id)
        fields = {"job": job.id, "cliente": cliente.slug, "provedor_job": job.openai_job_id}
        if acao == "concluido":
            log_event(logger, "job_concluido", **fields, modelo=job.modelo_fine_tuned,
                      trained_tokens=job.trained_tokens, custo_usd=job.custo_real_usd)
        elif acao in ("falhou", "cancelado"):
            log_event(logger, f"job_{acao}", **fields, erro=job.erro, level=logging.WARNING)
        else:
            log_event(logger, "job_atualizado", **fields, status=job.status,
                      status_provedor=job.status_provedor, progresso=job.progresso)


def claim_job(engine: Engine, job_id: int, owner: str, now: dt.datetime | None = None) -> str | None:
    """Take the job's lease and commit at once; the provider's job id, or None when the job
    is closed, has no provider job yet, or another poller holds it.

    One statement on both databases: the conditions are checked and the lease set
    atomically (SQLite runs one writer at a time; on PostgreSQL the subquery's FOR UPDATE
    SKIP LOCKED, ignored by SQLite, makes a poller skip a row another one is claiming)."""
    now = now or utcnow()
    lease = dt.timedelta(seconds=get_settings().poller_lease_seconds)
    claimable = (select(FineTuningJob.id)
                 .where(FineTuningJob.id == job_id, FineTuningJob.status.in_(JOB_ABERTO),
                        FineTuningJob.openai_job_id.is_not(None),
                        or_(FineTuningJob.lease_ate.is_(None), FineTuningJob.lease_ate < now))
                 .with_for_update(skip_locked=True))
    with session_scope(engine) as session:
        return session.execute(
            update(FineTuningJob).where(FineTuningJob.id.in_(claimable))
            .values(lease_dono=owner, lease_ate=now + lease)
            .returning(FineTuningJob.openai_job_id)
            .execution_options(synchronize_session=False)
        ).scalar()


def release_job(engine: Engine, job_id: int, owner: str) -> None:
    """Give the lease back (only if it is still ours)."""
    with session_scope(engine) as session:
        session.execute(update(FineTuningJob)
                        .where(FineTuningJob.id == job_id, FineTuningJob.lease_dono == owner)
                        .values(lease_dono=None, lease_ate=None))


def check_job(engine: Engine, job_id: int, provider: FineTuningProvider, *, owner: str,
              sleep: Callable[[float], object]) -> str:
    """Claim the job, ask the provider outside any transaction, record what it said."""
    provider_job_id = claim_job(engine, job_id, owner)
    if provider_job_id is None:
        return "ignorado"
    try:
        try:
            remote = fetch_job(provider, provider_job_id, sleep=sleep, job_id=job_id)
        except JobNotFound as exc:
            remote = ProviderJob(id=provider_job_id, status="failed", error_message=exc.mensagem)
        except ProviderError as exc:
            if not exc.transient:
                raise
            with session_scope(engine) as session:
                _record_transient(session, job_id, exc, utcnow())
            return "transitorio"
        with session_scope(engine) as session:
            job = session.get(FineTuningJob, job_id)
            return record_job_state(session, job, remote, owner=owner)
    finally:
        release_job(engine, job_id, owner)


def open_job_ids(session: Session, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(id, provider) of every pending or running job whose next check is due."""
    now = now or utcnow()
    return [(row.id, row.provedor) for row in session.execute(
        select(FineTuningJob.id, FineTuningJob.provedor)
        .where(FineTuningJob.status.in_(JOB_ABERTO),
               or_(FineTuningJob.proxima_verificacao_em.is_(None),
                   FineTuningJob.proxima_verificacao_em <= now))
        .order_by(FineTuningJob.id)
    )]


def check_jobs(engine: Engine, provider_factory: ProviderFactory, *, owner: str | None = None,
               sleep: Callable[[float], object] = time.sleep,
               should_stop: Callable[[], bool] = lambda: False) -> CheckSummary:
    """Check every pending or running job; one bad job never stops the others."""
    owner = owner or poller_name()
    summary = CheckSummary()
    with session_scope(engine) as session:
        jobs = open_job_ids(session)
    providers: dict[str, FineTuningProvider | None] = {}
    for job_id, provedor in jobs:
        if should_stop():
            break
        if provedor not in providers:
            try:
                providers[provedor] = provider_factory(provedor)
            except Exception as exc:  # noqa: BLE001 - e.g. no API key: the jobs wait
                providers[provedor] = None
                log_event(logger, "provedor_indisponivel", provedor=provedor,
                          erro=getattr(exc, "mensagem", None) or repr(exc), level=logging.ERROR)
        provider = providers[provedor]
        if provider is None:
            summary.erros += 1
            continue
        summary.verificados += 1
        try:
            acao = check_job(engine, job_id, provider, owner=owner, sleep=sleep)
        except ProviderError as exc:
            acao = "erro"
            log_event(logger, "job_erro_provedor", job=job_id, erro=exc.mensagem,
                      tipo=type(exc).__name__, level=logging.ERROR)
        except Exception as exc:  # noqa: BLE001 - never let one job stop the cycle
            acao = "erro"
            logger.exception("acao=job_erro job=%s erro=%r", job_id, exc)
        summary.detalhes.append((job_id, acao))
        if acao == "transitorio":
            summary.transitorios += 1
            log_event(logger, "job_adiado", job=job_id, motivo="provedor indisponível",
                      level=logging.WARNING)
        elif acao == "erro":
            summary.erros += 1
        elif acao == "ignorado":
            summary.ignorados += 1
        else:
            if acao in ("falhou", "cancelado"):
                summary.falhas += 1
            else:
                summary.atualizados += 1
            try:
                _apply_effects(engine, job_id, acao)
            except Exception as exc:  # noqa: BLE001
                logger.exception("acao=job_efeitos_erro job=%s erro=%r", job_id, exc)
            if acao == "concluido":
                _deploy_now(engine, job_id, provider, owner, summary)
    return summary


def _deploy_now(engine: Engine, job_id: int, provider: FineTuningProvider, owner: str,
                summary: CheckSummary) -> None:
    """A job that just succeeded goes on to its deployment in the same cycle."""
    from core.finetune.rollout import deploy_job

    try:
        acao = deploy_job(engine, job_id, provider, owner=owner)
    except Exception as exc:  # noqa: BLE001 - the next cycle's rollout retries it
        logger.exception("acao=implantacao_erro job=%s erro=%r", job_id, exc)
        return
    summary.detalhes.append((job_id, acao))
    if acao == "aplicado":
        summary.aplicados += 1


@dataclass(frozen=True)
class JobProgress:
    """A job's live state for the progress component."""

    id: int
    status: str
    status_provedor: str | None
    progresso: int | None
    previsao_conclusao: dt.datetime | None
    verificado_em: dt.datetime | None
    modelo_fine_tuned: str | None
    erro: str | None
    ultimo_erro_transitorio: str | None

    @property
    def aberto(self) -> bool:
        return self.status in JOB_ABERTO


def get_job_progress(session: Session, job_id: int) -> JobProgress:
    from core.errors import NotFound

    job = session.get(FineTuningJob, job_id)
    if job is None:
        raise NotFound(f"Job de fine-tuning {job_id} não encontrado.")
    return JobProgress(job.id, job.status, job.status_provedor, job.progresso,
                       job.previsao_conclusao, job.verificado_em, job.modelo_fine_tuned, job.erro,
                       job.ultimo_erro_transitorio)
