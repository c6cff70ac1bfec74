"""Base models that can be fine-tuned, their shutdown dates, and the provider's cut-off.

Facts as of late 2026 (DESIGN.md): OpenAI stops accepting new fine-tuning jobs on
2027-01-06; the four base models below (and their fine-tunes) shut down on 2027-01-14;
gpt-3.5-turbo-0125 and gpt-4.1-nano are already gone.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core import clock
from core.errors import CuradoriaError
from core.formato import desligamento

NEW_JOBS_REFUSED_FROM = dt.date(2027, 1, 6)


@dataclass(frozen=True)
class BaseModel:
    nome: str
    desligamento: dt.date | None  # shutdown date of the model and its fine-tunes
    disponivel: bool = True  # False: already retired for fine-tuning


MODELS: dict[str, BaseModel] = {m.nome: m for m in (
    BaseModel("gpt-4o-mini-2024-07-18", dt.date(2027, 1, 14)),
    BaseModel("gpt-4o-2024-08-06", dt.date(2027, 1, 14)),
    BaseModel("gpt-4.1-2025-04-14", dt.date(2027, 1, 14)),
    BaseModel("gpt-4.1-mini-2025-04-14", dt.date(2027, 1, 14)),
    BaseModel("gpt-3.5-turbo-0125", None, disponivel=False),
    BaseModel("gpt-4.1-nano-2025-04-14", None, disponivel=False),
)}


class ModelUnavailable(CuradoriaError):
    """The base model cannot be fine-tuned (retired, unknown, or past the cut-off)."""


def get_base_model(nome: str) -> BaseModel | None:
    """The catalogue entry of a base model (an `ft:` name resolves to its base)."""
    if nome.startswith("ft:"):
        nome = nome.split(":")[1]
    return MODELS.get(nome)


def shutdown_text(nome: str, hoje: dt.date | None = None) -> str:
    """pt-BR sentence about a model's shutdown date, for the confirm dialog, in the future
    tense while the date is ahead."""
    model = get_base_model(nome)
    if model is None:
        return "Data de desligamento desconhecida."
    if not model.disponivel:
        return "Modelo já descontinuado."
    return desligamento(model.desligamento, "pela OpenAI", hoje or clock.today())


def check_base_model(nome: str, today: dt.date) -> BaseModel:
    """Raise ModelUnavailable (pt-BR) unless a new job on `nome` can start `today`."""
    if today >= NEW_JOBS_REFUSED_FROM:
        raise ModelUnavailable(
            f"A OpenAI não aceita novos fine-tunings desde {NEW_JOBS_REFUSED_FROM:%d/%m/%Y}."
        )
    model = get_base_model(nome)
    if model is None:
        raise ModelUnavailable(f"O modelo base {nome} não está no catálogo de fine-tuning.")
    if not model.disponivel or (model.desligamento and today >= model.desligamento):
        raise ModelUnavailable(
            f"O modelo base {nome} foi descontinuado e não pode mais ser usado em fine-tuning."
        )
    return model


def estimate_duration(tokens_faturados: int) -> str:
    """A rough pt-BR range for how long a job takes (queue + training)."""
    # About 30 minutes of validation / queue plus ~1 hour per 2M billed tokens,
    # then doubled for the upper bound; never less than the seed's "2-4 horas"-ish scale.
    low = 0.5 + tokens_faturados / 2_000_000
    high = max(low * 2, low + 1)
    lo_h, hi_h = max(1, round(low)), max(2, round(high))
    if hi_h <= lo_h:
        hi_h = lo_h + 1
    return f"{lo_h}-{hi_h} horas"
