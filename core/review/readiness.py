"""Fine-tuning readiness: enough rated conversas (the same check the UI and core enforce)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import get_settings
from core.db.tables import ConversaResumo


@dataclass(frozen=True)
class Readiness:
    """Rated conversas of one cliente against the thresholds (settings)."""

    cliente_id: int
    marcadas: int
    boas: int
    ruins: int
    min_marcadas: int
    min_boas: int
    min_ruins: int

    @property
    def faltando(self) -> list[str]:
        """What is still missing, in pt-BR, one line per unmet condition."""
        missing = []
        if self.marcadas < self.min_marcadas:
            missing.append(f"Faltam {self.min_marcadas - self.marcadas} conversas avaliadas "
                           f"({self.marcadas} de {self.min_marcadas}).")
        if self.boas < self.min_boas:
            missing.append(f"Faltam {self.min_boas - self.boas} conversas boas "
                           f"({self.boas} de {self.min_boas}).")
        if self.ruins < self.min_ruins:
            missing.append(f"Faltam {self.min_ruins - self.ruins} conversas ruins "
                           f"({self.ruins} de {self.min_ruins}).")
        return missing

    @property
    def pronto(self) -> bool:
        return not self.faltando

    @property
    def progresso(self) -> float:
        """0..1: the least-advanced condition, for a progress bar."""
        parts = [min(1.0, have / need) if need else 1.0 for have, need in (
            (self.marcadas, self.min_marcadas), (self.boas, self.min_boas),
            (self.ruins, self.min_ruins))]
        return min(parts)

    @property
    def motivo(self) -> str:
        """One sentence for a disabled button, or '' when ready."""
        return " ".join(self.faltando)


def dpo_missing(session: Session, cliente_id: int) -> str:
    """Why a preference (DPO) fine-tuning cannot start yet, in pt-BR ('' when it can): its
    own minimum of corrected bot answers (CURADORIA_MIN_CORRECOES)."""
    from core.review.corrections import count_corrections

    feitas, minimo = count_corrections(session, cliente_id), get_settings().min_correcoes
    if feitas >= minimo:
        return ""
    return (f"Faltam {minimo - feitas} respostas corrigidas para o treino por preferências "
            f"(DPO) ({feitas} de {minimo}).")


def get_readiness(session: Session, cliente_id: int) -> Readiness:
    """Counts from the trigger-kept rollup, so direct SQL ratings are seen too."""
    settings = get_settings()
    total = func.sum(ConversaResumo.total)
    row = session.execute(
        select(total.filter(ConversaResumo.avaliacao == "boa"),
               total.filter(ConversaResumo.avaliacao == "ruim"))
        .where(ConversaResumo.cliente_id == cliente_id)
    ).one()
    boas, ruins = int(row[0] or 0), int(row[1] or 0)
    return Readiness(cliente_id=cliente_id, marcadas=boas + ruins, boas=boas, ruins=ruins,
                     min_marcadas=settings.min_conversas_marcadas,
                     min_boas=settings.min_conversas_boas,
                     min_ruins=settings.min_conversas_ruins)
