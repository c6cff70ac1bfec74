"""Start a fine-tuning job for one cliente: exactly once, only when ready.

Order of events (each step leaves the database consistent):
1. checks that create nothing (`check_can_start`, the same function the Fine-tuning page
   uses to enable its button): no open job, readiness, the base model can still be
   fine-tuned, the provider is configured;
2. the `pending` row is inserted and committed FIRST: the partial unique index (one
   pending/running job per cliente) makes a double click, two admins or two processes
   produce exactly one row; the loser gets JobAlreadyOpen and calls nothing at the provider;
3. the training file is built (dataset contract) into fine_tuning_dir/job-<id>/;
4. upload; a failed build or upload deletes the pending row (nothing half-done);
5. create the job; a failed create marks the row `failed` with the pt-BR error in `erro`;
6. success stores the provider ids, tokens, cost and conversas used.
"""
from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clientes.directory import get_cliente_by_id
from core import clock
from core.clock import utcnow
from core.config import get_settings
from core.db import session_scope
from core.db.tables import JOB_ABERTO, METODOS_TREINO, Cliente, FineTuningJob
from core.errors import CuradoriaError, InvalidInput
from core.finetune.catalog import estimate_duration
from core.finetune.choice import (
    check_base_model_for,
    provider_label,
    resolve_choice,
    shutdown_text_for,
)
from core.finetune.provider import FineTuningProvider, MissingApiKey, ProviderError
from core.finetune.registry import configuration_problem, get_provider, supported_methods
from core.review.readiness import Readiness, dpo_missing, get_readiness

# A pending row without a provider job that has not moved for this long belongs to a start
# that died half-way (process killed, machine restarted): it no longer blocks the cliente.
STALE_START = dt.timedelta(minutes=30)


class NotReady(CuradoriaError):
    """The cliente does not have enough rated conversas; `.motivo` says what is missing."""

    def __init__(self, motivo: str):
        super().__init__(f"O cliente ainda não está pronto para o fine-tuning. {motivo}")
        self.motivo = motivo


class JobAlreadyOpen(CuradoriaError):
    """Another fine-tuning of this cliente is pending or running."""

    def __init__(self, job_id: int | None = None, status: str | None = None):
        extra = f" (job #{job_id})" if job_id else ""
        super().__init__("Já existe um fine-tuning em andamento para este cliente"
                         f"{extra}. Aguarde a conclusão antes de iniciar outro.")
        self.job_id = job_id
        self.status = status


@dataclass(frozen=True)
class StartPreview:
    """What the confirm dialog shows before anything is spent."""

    cliente_id: int
    cliente_nome: str
    slug: str
    conversas_usadas: int
    exemplos: int
    tokens_faturados: int
    epocas: int
    custo_usd: Decimal
    custo_brl: Decimal
    tempo_estimado: str
    modelo_base: str
    desligamento: str
    avisos: tuple[str, ...] = ()
    provedor: str = "openai"
    provedor_nome: str = "OpenAI"
    # Together: the provider's own estimate (estimate-price), shown next to our token count.
    preco_provedor_usd: Decimal | None = None
    preco_provedor_brl: Decimal | None = None
    tokens_provedor: int | None = None
    metodo: str = "sft"  # sft: the good conversas; dpo: the corrections (preference pairs)


@dataclass(frozen=True)
class StartResult:
    job_id: int
    openai_job_id: str | None
    status: str
    erro: str | None


def _today() -> dt.date:
    """The admin's calendar day; tests move it to check the provider's cut-off."""
    return clock.today()


def _money(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def check_can_start(session: Session, cliente: Cliente, *, today: dt.date | None = None,
                    readiness: Readiness | None = None, provider_given: bool = False,
                    provedor: str | None = None, modelo_base: str | None = None,
                    metodo: str = "sft") -> None:
    """Raise the first reason a fine-tuning of `cliente` cannot start now, in this order:
    an open job (JobAlreadyOpen; an interrupted start is expired first, see
    `_expire_if_stale`), too few ratings (NotReady), a base model that can no longer be
    fine-tuned (ModelUnavailable), the provider not configured (MissingApiKey; skipped
    when the caller brings its own provider). The one rule for the start and the page."""
    open_job = session.scalar(select(FineTuningJob).where(
        FineTuningJob.cliente_id == cliente.id, FineTuningJob.status.in_(JOB_ABERTO)))
    if open_job is not None and not _expire_if_stale(open_job):
        raise JobAlreadyOpen(open_job.id, open_job.status)
    if metodo not in METODOS_TREINO:
        raise InvalidInput(f"Método de treino desconhecido: '{metodo}'. Use sft ou dpo.")
    if metodo == "dpo":  # its own minimum: corrected answers, not ratings
        if falta := dpo_missing(session, cliente.id):
            raise NotReady(falta)
    else:
        readiness = readiness or get_readiness(session, cliente.id)
        if not readiness.pronto:
            raise NotReady(readiness.motivo)
    provedor, modelo_base = resolve_choice(cliente, provedor, modelo_base)
    if metodo not in supported_methods(provedor):
        raise InvalidInput(f"{provider_label(provedor)} não treina por preferências (DPO): "
                           "escolha o treino supervisionado.")
    check_base_model_for(provedor, modelo_base, today or _today())
    problem = "" if provider_given else configuration_problem(provedor)
    if problem:
        raise MissingApiKey(problem)


def _cliente_that_can_start(session: Session, cliente_id: int, *,
                            provider_given: bool = False, provedor: str | None = None,
                            modelo_base: str | None = None, metodo: str = "sft") -> Cliente:
    cliente = get_cliente_by_id(session, cliente_id)
    check_can_start(session, cliente, provider_given=provider_given, provedor=provedor,
                    modelo_base=modelo_base, metodo=metodo)
    return cliente


def _expire_if_stale(job: FineTuningJob) -> bool:
    """Mark an interrupted start failed (True) so the cliente is not blocked for ever."""
    if job.openai_job_id or job.status != "pending":
        return False
    since = job.atualizado_em or job.created_at
    if since is None or utcnow() - since < STALE_START:
        return False
    job.status = "failed"
    job.completed_at = utcnow()
    job.atualizado_em = utcnow()
    job.erro = ("O início deste fine-tuning foi interrompido antes de o job ser registrado."
                + (" O arquivo já tinha sido enviado: confira no painel do provedor se um "
                   "job foi criado (metadata curadoria_job_id={}).".format(job.id)
                   if job.arquivo_treino_id else ""))
    return True


def _build(session: Session, cliente_id: int, out_dir: Path, provedor: str = "openai",
           metodo: str = "sft"):
    from core.training.dataset import build_training_files
    from core.training.preference import build_preference_file

    build = build_preference_file if metodo == "dpo" else build_training_files
    report = build(session, cliente_id, out_dir)
    if provedor != "openai" and report.preco_usd_por_milhao is None:
        # Our price table is OpenAI's; the provider prices its own jobs (estimate-price).
        report.erros = [e for e in report.erros if not e.startswith("Sem preço de treino")]
    if not report.ok:
        raise InvalidInput("Não foi possível gerar o arquivo de treinamento: "
                           + " ".join(report.erros))
    return report


def preview_fine_tuning(session: Session, cliente_id: int, *, provedor: str | None = None,
                        modelo_base: str | None = None,
                        provider: FineTuningProvider | None = None,
                        metodo: str = "sft") -> StartPreview:
    """Everything the confirm dialog shows; raises NotReady / JobAlreadyOpen / ... first.

    For Together the file is uploaded (free) so that Together itself prices the job
    (estimate-price); a failed estimate is a warning, not a refusal."""
    cliente = _cliente_that_can_start(session, cliente_id, provider_given=provider is not None,
                                      provedor=provedor, modelo_base=modelo_base, metodo=metodo)
    provedor, modelo = resolve_choice(cliente, provedor, modelo_base)
    preco: dict = {}
    avisos: list[str] = []
    with tempfile.TemporaryDirectory(prefix="curadoria-preview-") as tmp:
        report = _build(session, cliente_id, Path(tmp), provedor, metodo)
        if provedor != "openai":
            preco, aviso = _provider_price(provider or get_provider(provedor),
                                           Path(report.train_path), modelo, metodo)
            avisos += [aviso] if aviso else []
    custo_usd, custo_brl = _money(report.custo_usd), _money(report.custo_brl)
    if provedor != "openai":  # our price table is OpenAI's: the provider's estimate counts
        custo_usd, custo_brl = preco.get("preco_provedor_usd"), preco.get("preco_provedor_brl")
    return StartPreview(
        cliente_id=cliente.id, cliente_nome=cliente.nome, slug=cliente.slug,
        conversas_usadas=report.conversas_usadas, exemplos=report.exemplos,
        tokens_faturados=report.tokens_faturados, epocas=report.epocas,
        custo_usd=custo_usd, custo_brl=custo_brl,
        tempo_estimado=estimate_duration(report.tokens_faturados), modelo_base=modelo,
        desligamento=shutdown_text_for(provedor, modelo),
        avisos=tuple(report.avisos or ()) + tuple(avisos),
        provedor=provedor, provedor_nome=provider_label(provedor), metodo=metodo, **preco,
    )


def _provider_price(provider: FineTuningProvider, train: Path, modelo: str,
                    metodo: str = "sft") -> tuple[dict, str]:
    """The provider's own estimate ({} and a pt-BR warning when it gives none)."""
    estimate = getattr(provider, "estimate_price", None)
    if estimate is None:
        return {}, ""
    try:
        price = estimate(training_file=provider.upload_file(train), model=modelo,
                         **({"metodo": metodo} if metodo != "sft" else {}))
    except ProviderError as exc:
        return {}, f"Não foi possível obter a estimativa de preço do provedor: {exc}"
    if not price.available:
        return {}, price.motivo_indisponivel or "O provedor não estimou o preço."
    aviso = ("" if price.allowed_to_proceed is not False else
             "A estimativa passa do limite de crédito da conta no provedor: o job pode ser "
             "recusado.")
    return {"preco_provedor_usd": price.usd, "preco_provedor_brl": price.brl,
            "tokens_provedor": price.train_tokens}, aviso


def start_fine_tuning(engine: Engine, cliente_id: int, usuario: str,
                      provider: FineTuningProvider | None = None, *,
                      provedor: str | None = None,
                      modelo_base: str | None = None, metodo: str = "sft") -> StartResult:
    """Start one fine-tuning job for the cliente (see the module docstring for the order),
    at the cliente's provider on its base model unless `provedor` / `modelo_base` say
    otherwise."""
    with session_scope(engine) as session:
        cliente = _cliente_that_can_start(session, cliente_id,
                                          provider_given=provider is not None,
                                          provedor=provedor, modelo_base=modelo_base,
                                          metodo=metodo)
        provedor, modelo_base = resolve_choice(cliente, provedor, modelo_base)
        slug = cliente.slug
    if provider is None:
        provider = get_provider(provedor)

    # 2. The pending row first: the database lets only one through.
    try:
        with session_scope(engine) as session:
            row = FineTuningJob(cliente_id=cliente_id, status="pending",
                                modelo_base=modelo_base, provedor=provider.name,
                                iniciado_por=usuario, atualizado_em=utcnow(), metodo=metodo)
            session.add(row)
            session.flush()
            job_id = row.id
    except IntegrityError:
        with session_scope(engine) as session:
            other = session.scalar(select(FineTuningJob.id).where(
                FineTuningJob.cliente_id == cliente_id,
                FineTuningJob.status.in_(JOB_ABERTO)))
        raise JobAlreadyOpen(other) from None

    out_dir = Path(get_settings().fine_tuning_dir) / f"job-{job_id}"
    # 3-4. Build and upload; any failure removes the row and the files.
    try:
        with session_scope(engine) as session:
            report = _build(session, cliente_id, out_dir, provedor, metodo)
        modelo = modelo_base
        train_id = provider.upload_file(Path(report.train_path))
        val_id = (provider.upload_file(Path(report.validation_path))
                  if report.validation_path else None)
    except BaseException:
        with session_scope(engine) as session:
            session.execute(delete(FineTuningJob).where(FineTuningJob.id == job_id))
        shutil.rmtree(out_dir, ignore_errors=True)
        raise

    own_price = provider.name == "openai"  # our price table is OpenAI's
    stats = dict(conversas_usadas=report.conversas_usadas, modelo_base=modelo,
                 tokens_estimados=report.tokens_faturados, epocas=report.epocas,
                 custo_estimado=_money(report.custo_brl) if own_price else None,
                 custo_estimado_usd=_money(report.custo_usd) if own_price else None,
                 arquivo_treino_id=train_id, arquivo_validacao_id=val_id)
    _finish_row(engine, job_id, **stats)  # the files are at the provider: say so now
    # 5. Create the job at the provider.
    try:
        job = provider.create_job(training_file=train_id, validation_file=val_id,
                                  model=modelo, suffix=slug,
                                  metadata={"curadoria_job_id": str(job_id),
                                            "curadoria_cliente": slug},
                                  **({"metodo": metodo} if metodo != "sft" else {}))
    except ProviderError as exc:
        _finish_row(engine, job_id, status="failed", erro=str(exc), completed_at=utcnow())
        raise
    except Exception as exc:  # unexpected: still leave a row that says what happened
        _finish_row(engine, job_id, status="failed",
                    erro=f"Falha inesperada ao criar o job no provedor: {exc}",
                    completed_at=utcnow())
        raise
    # 6. Store the provider's ids.
    status = job.seed_status if job.seed_status in JOB_ABERTO else "pending"
    _finish_row(engine, job_id, openai_job_id=job.id, status_provedor=job.status,
                status=status)
    return StartResult(job_id=job_id, openai_job_id=job.id, status=status, erro=None)


def _finish_row(engine: Engine, job_id: int, **values) -> None:
    with session_scope(engine) as session:
        row = session.get(FineTuningJob, job_id)
        for key, value in values.items():
            setattr(row, key, value)
        row.atualizado_em = utcnow()


def methods_for(session: Session, cliente_id: int) -> tuple[str, ...]:
    """The training methods the cliente's provider offers (the confirm dialog's choice)."""
    provedor, _ = resolve_choice(get_cliente_by_id(session, cliente_id), None, None)
    return supported_methods(provedor)


def find_cliente_id(session: Session, slug: str) -> int:
    """The id of a cliente by slug (NotFound in pt-BR otherwise); for the CLI."""
    from core.clientes.directory import get_cliente

    return get_cliente(session, slug).id

