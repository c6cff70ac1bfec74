"""Reading fine-tuning jobs: the history list and one job's status."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.tables import Cliente, FineTuningJob
from core.errors import CuradoriaError, InvalidInput, NotFound
from core.formato import dinheiro
from core.review.readiness import Readiness

STATUS_LABELS = {
    "pending": "Pendente",
    "running": "Em execução",
    "succeeded": "Concluído",
    "failed": "Falhou",
    "cancelled": "Cancelado",
}


@dataclass(frozen=True)
class JobResumo:
    id: int
    cliente_id: int
    cliente_nome: str
    cliente_slug: str
    status: str
    status_provedor: str | None
    progresso: int | None
    conversas_usadas: int | None
    modelo_base: str | None
    modelo_fine_tuned: str | None
    custo_estimado: Decimal | None
    custo_real: Decimal | None
    tokens_estimados: int | None
    openai_job_id: str | None
    iniciado_por: str | None
    erro: str | None
    created_at: dt.datetime | None
    completed_at: dt.datetime | None
    implantacao: str | None = None  # the deployment of a succeeded job's model
    metodo: str = "sft"  # sft (good conversas) or dpo (corrections, preference pairs)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def aguardando_aprovacao(self) -> bool:
        return self.implantacao == "aguardando_aprovacao"


def _resumo(job: FineTuningJob, cliente: Cliente) -> JobResumo:
    return JobResumo(
        id=job.id, cliente_id=cliente.id, cliente_nome=cliente.nome, cliente_slug=cliente.slug,
        status=job.status, status_provedor=job.status_provedor, progresso=job.progresso,
        conversas_usadas=job.conversas_usadas, modelo_base=job.modelo_base,
        modelo_fine_tuned=job.modelo_fine_tuned, custo_estimado=job.custo_estimado,
        custo_real=job.custo_real, tokens_estimados=job.tokens_estimados,
        openai_job_id=job.openai_job_id, iniciado_por=job.iniciado_por, erro=job.erro,
        created_at=job.created_at, completed_at=job.completed_at,
        implantacao=job.implantacao, metodo=job.metodo or "sft",
    )


def list_jobs(session: Session, cliente_id: int | None = None, status: str | None = None,
              limit: int = 500) -> list[JobResumo]:
    """Every job, newest first, optionally of one cliente and / or one status."""
    if status is not None and status not in STATUS_LABELS:
        raise InvalidInput(f"Status inválido: {status}.")
    query = (select(FineTuningJob, Cliente).join(Cliente, Cliente.id == FineTuningJob.cliente_id)
             .order_by(FineTuningJob.id.desc()).limit(limit))
    if cliente_id is not None:
        query = query.where(FineTuningJob.cliente_id == cliente_id)
    if status is not None:
        query = query.where(FineTuningJob.status == status)
    return [_resumo(job, cliente) for job, cliente in session.execute(query)]


def get_job_resumo(session: Session, job_id: int) -> JobResumo:
    row = session.execute(select(FineTuningJob, Cliente)
                          .join(Cliente, Cliente.id == FineTuningJob.cliente_id)
                          .where(FineTuningJob.id == job_id)).first()
    if row is None:
        raise NotFound(f"Job de fine-tuning #{job_id} não encontrado.")
    return _resumo(*row)


def format_brl(value) -> str:
    """R$ in the Brazilian way: R$ 1.234,50 (or a dash); core.formato.dinheiro."""
    return dinheiro(value)


@dataclass(frozen=True)
class ClienteFineTuning:
    """One cliente on the Fine-tuning page: readiness, base model and its open job."""

    cliente_id: int
    nome: str
    slug: str
    modelo_base: str
    modelo_ativo: str | None
    desligamento: str
    readiness: Readiness
    job_aberto: JobResumo | None
    bloqueio: str  # why a new job cannot start ('' when it can)

    @property
    def pode_iniciar(self) -> bool:
        return not self.bloqueio


def summarize_fine_tuning(session: Session, today: dt.date | None = None
                          ) -> list[ClienteFineTuning]:
    """Every cliente with its readiness and whether a fine-tuning can start now (the same
    check as the start itself: core.finetune.start.check_can_start)."""
    from core.clientes.directory import list_clientes
    from core.finetune.choice import provider_of, shutdown_text_for
    from core.finetune.start import JobAlreadyOpen, NotReady, check_can_start
    from core.review.readiness import get_readiness

    out = []
    for cliente in list_clientes(session):
        readiness = get_readiness(session, cliente.id)
        job, bloqueio = None, ""
        try:
            check_can_start(session, cliente, today=today, readiness=readiness)
        except JobAlreadyOpen as exc:
            job = get_job_resumo(session, exc.job_id)
            bloqueio = (f"Já existe um fine-tuning em andamento para este cliente "
                        f"(job #{job.id}, {job.status_label.lower()}).")
        except NotReady as exc:  # a DPO start may still be possible (its own minimum)
            bloqueio = exc.motivo if _dpo_blocked(session, cliente, today) else ""
        except CuradoriaError as exc:
            bloqueio = str(exc)
        out.append(ClienteFineTuning(
            cliente_id=cliente.id, nome=cliente.nome, slug=cliente.slug,
            modelo_base=cliente.modelo_base, modelo_ativo=cliente.modelo_ativo,
            desligamento=shutdown_text_for(provider_of(cliente), cliente.modelo_base),
            readiness=readiness,
            job_aberto=job, bloqueio=bloqueio))
    return out


def _dpo_blocked(session: Session, cliente, today: dt.date | None) -> bool:
    from core.finetune.start import check_can_start

    try:
        check_can_start(session, cliente, today=today, metodo="dpo")
    except CuradoriaError:
        return True
    return False


def format_usd(value) -> str:
    """US$ with Brazilian separators: US$ 1.234,50 (or a dash); core.formato.dinheiro."""
    return dinheiro(value, "US$")
