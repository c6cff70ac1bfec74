"""The evaluation gate between a finished job and the customers (issue 18 wires the
evaluation in here; until then every candidate passes)."""
from __future__ import annotations

from sqlalchemy import Engine

from core.finetune.rollout import Candidate


def evaluation_gate(engine: Engine, job_id: int, candidate: Candidate) -> str:
    """'aplicar' when the candidate may serve without a human, else the pt-BR reason."""
    return "aplicar"
