"""What the pages show of the evaluations: the list (Histórico), the jobs waiting for an
admin (Fine-tuning), and one evaluation side by side (Avaliação de modelos)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.tables import Cliente, FineTuningJob
from core.db.tables_avaliacao import AvaliacaoModelo
from core.finetune.evaluate import (
    ComparisonRow,
    Evaluation,
    compare_rows,
    get_evaluation,
    latest_evaluation,
    list_evaluations,
)

AGUARDANDO = "aguardando_aprovacao"
IMPLANTACAO_LABELS = {
    "pendente": "em implantação",
    "aguardando_aprovacao": "aguardando aprovação",
    "aplicado": "em uso",
    "rejeitado": "rejeitado",
    "falhou": "implantação falhou",
}
DECISAO_LABELS = {"aprovado": "Aprovado", "aguardando_aprovacao": "Aguardando aprovação",
                  "rejeitado": "Rejeitado"}
MUDANCA_LABELS = {"piorou": "Piorou", "melhorou": "Melhorou", "igual": "Igual",
                  "pendente": "Sem resposta"}


@dataclass(frozen=True)
class EvaluationItem:
    """One evaluation with its cliente and whether an admin can decide its job now."""

    avaliacao: Evaluation
    cliente_nome: str
    implantacao: str | None  # the job's deployment state

    @property
    def pode_decidir(self) -> bool:
        return self.implantacao == AGUARDANDO


@dataclass(frozen=True)
class AwaitingJob:
    """A job whose model waits for an admin (with its newest evaluation, if any)."""

    job_id: int
    cliente_id: int
    cliente_nome: str
    modelo: str | None
    avaliacao_id: int | None
    motivo: str | None


def _items(session: Session, evaluations: list[Evaluation]) -> list[EvaluationItem]:
    if not evaluations:
        return []
    job_ids = {e.fine_tuning_job_id for e in evaluations}
    rows = session.execute(select(FineTuningJob.id, FineTuningJob.implantacao, Cliente.nome)
                           .join(Cliente, Cliente.id == FineTuningJob.cliente_id)
                           .where(FineTuningJob.id.in_(job_ids)))
    jobs = {row.id: (row.implantacao, row.nome) for row in rows}
    return [EvaluationItem(e, jobs[e.fine_tuning_job_id][1], jobs[e.fine_tuning_job_id][0])
            for e in evaluations]


def list_evaluation_items(session: Session, cliente_id: int | None = None,
                          limite: int = 100) -> list[EvaluationItem]:
    """Every evaluation, newest first (optionally of one cliente)."""
    return _items(session, list_evaluations(session, cliente_id=cliente_id, limite=limite))


def get_evaluation_item(session: Session, evaluation_id: int) -> EvaluationItem:
    return _items(session, [get_evaluation(session, evaluation_id)])[0]


def comparison(session: Session, evaluation_id: int
               ) -> tuple[EvaluationItem, list[ComparisonRow]]:
    """The evaluation and its examples, the ones that got worse first, then better."""
    return get_evaluation_item(session, evaluation_id), compare_rows(session, evaluation_id)


def awaiting_approval(session: Session) -> list[AwaitingJob]:
    """Jobs whose new model waits for an admin, oldest first."""
    rows = session.execute(select(FineTuningJob, Cliente.nome)
                           .join(Cliente, Cliente.id == FineTuningJob.cliente_id)
                           .where(FineTuningJob.implantacao == AGUARDANDO)
                           .order_by(FineTuningJob.id)).all()
    out = []
    for job, nome in rows:
        latest = latest_evaluation(session, job.id)
        out.append(AwaitingJob(job.id, job.cliente_id, nome,
                               job.modelo_implantado or job.modelo_fine_tuned,
                               latest.id if latest else None, job.implantacao_erro))
    return out


def evaluated_job_ids(session: Session) -> set[int]:
    """Jobs that have at least one evaluation."""
    return set(session.scalars(select(AvaliacaoModelo.fine_tuning_job_id).distinct()))
