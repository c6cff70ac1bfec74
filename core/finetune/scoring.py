"""Scores of one generated answer: the analysis' problems, chrF to the curated answer, cost.

Problems come from the same rules that classify the bot's answers on the analysis screen
(core.detection), applied to the customer's last message and the generated answer, and
kept to those the answer is responsible for. chrF (sacrebleu, character n-grams: robust to
pt-BR inflection and typos, no tokenizer or download needed) says how close the answer is
to what the curator kept as the right one, 0-100.
"""
from __future__ import annotations

import functools
import re
from decimal import ROUND_HALF_UP, Decimal

from sacrebleu.metrics import CHRF

from core.review.detection import detect_problems
from core.training.tokens import base_model

# What an answer can be blamed for; "irritado" and "repetiu" describe the customer's
# message, which both models receive alike.
PROBLEMAS_DA_RESPOSTA = ("fallback", "vaga", "humano", "sem_resposta")
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")
MICRO_DOLAR = Decimal("0.000001")


def last_user_message(contexto: list[dict[str, str]]) -> str:
    """The customer's message the answer replies to."""
    return next((m["content"] for m in reversed(contexto) if m.get("role") == "user"), "")


def answer_problems(contexto: list[dict[str, str]], resposta: str) -> list[str]:
    """Problem codes (core.detection.PROBLEMAS) of a generated answer to the conversa so far."""
    turns = [("user", last_user_message(contexto))]
    if (resposta or "").strip():
        turns.append(("assistant", resposta))
    found = detect_problems(turns).problemas
    return [code for code in found if code in PROBLEMAS_DA_RESPOSTA]


@functools.cache
def _chrf() -> CHRF:
    return CHRF()


def chrf(resposta: str, curada: str) -> float:
    """chrF of the answer against the curated one (0-100; sacrebleu's defaults, chrF2).

    Not thread-safe: the evaluation scores on its writer thread only.
    """
    return round(_chrf().sentence_score(resposta or "", [curada or ""]).score, 2)


def inference_price_for(modelo: str, precos: dict[str, tuple[Decimal, Decimal]]
              ) -> tuple[Decimal, Decimal] | None:
    """US$ per 1M tokens (input, output): the exact name, then 'ft:<base>' for a fine-tune,
    each also without its snapshot date; None when unknown (a LoRA adapter, say)."""
    names = [modelo]
    if modelo.startswith("ft:"):
        names.append("ft:" + base_model(modelo))
    for name in list(names):
        names.append(_SNAPSHOT.sub("", name))
    for name in names:
        if name in precos:
            entrada, saida = precos[name]
            return Decimal(entrada), Decimal(saida)
    return None


def cost_usd(tokens_entrada: int, tokens_saida: int,
             preco: tuple[Decimal, Decimal] | None) -> Decimal | None:
    """What the tokens cost in US$ (to the micro-dollar), or None without a price."""
    if preco is None:
        return None
    total = (Decimal(tokens_entrada) * preco[0] + Decimal(tokens_saida) * preco[1])
    return (total / Decimal(1_000_000)).quantize(MICRO_DOLAR, ROUND_HALF_UP)
