"""What an evaluation found: scores per side, the judge's tally, the change of each example
(piorou | melhorou | igual | pendente) and the decision (core.finetune.evaluate stores it)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.config import Settings, get_settings
from core.finetune.scoring import cost_usd, inference_price_for

APROVADO, AGUARDANDO, REJEITADO = "aprovado", "aguardando_aprovacao", "rejeitado"
# Without a judge, a chrF gap this large (0-100 scale) marks an example as better / worse.
LIMIAR_CHRF = 10.0
ORDEM_MUDANCA = {"piorou": 0, "melhorou": 1, "igual": 2, "pendente": 3}


@dataclass(frozen=True)
class ComparisonRow:
    """One example side by side; `mudanca` is piorou | melhorou | igual | pendente."""

    indice: int
    linha: int
    pergunta: str
    contexto: list[dict[str, str]]
    resposta_curada: str
    resposta_candidato: str | None
    resposta_atual: str | None
    problemas_candidato: list[str]
    problemas_atual: list[str]
    chrf_candidato: float | None
    chrf_atual: float | None
    juiz: dict[str, Any] | None
    uso: dict[str, Any]
    mudanca: str


def summarize(modelo_candidato: str, modelo_atual: str, modelo_juiz: str | None,
              rows: Iterable[ComparisonRow],
              precos: dict[str, tuple[Decimal, Decimal]]) -> dict[str, Any]:
    """Scores per side and the judge's tally; costs in US$ as strings (None: no price)."""
    rows = list(rows)
    modelos = {"candidato": modelo_candidato, "atual": modelo_atual}
    resumo: dict[str, Any] = {"exemplos": len(rows)}
    for lado, modelo in modelos.items():
        resumo[lado] = _side(lado, modelo, rows, precos)
    resumo["juiz"] = _judge_tally(modelo_juiz, rows, precos) if modelo_juiz else None
    parts = [resumo["candidato"], resumo["atual"]] + ([resumo["juiz"]] if modelo_juiz else [])
    known = [p["custo_usd"] for p in parts]
    resumo["custo_usd"] = (str(sum(Decimal(c) for c in known)) if None not in known else None)
    mudancas = Counter(r.mudanca for r in rows)
    resumo["piorou"], resumo["melhorou"] = mudancas["piorou"], mudancas["melhorou"]
    return resumo


def _side(lado: str, modelo: str, rows: list[ComparisonRow],
          precos: dict[str, tuple[Decimal, Decimal]]) -> dict[str, Any]:
    answered = [r for r in rows if getattr(r, f"resposta_{lado}") is not None]
    problemas = [getattr(r, f"problemas_{lado}") for r in answered]
    scores = [getattr(r, f"chrf_{lado}") for r in answered]
    uso = [r.uso.get(lado) or {} for r in answered]
    entrada, saida = sum(u.get("entrada", 0) for u in uso), sum(u.get("saida", 0) for u in uso)
    custo = cost_usd(entrada, saida, inference_price_for(modelo, precos))
    return {
        "modelo": modelo, "respondidos": len(answered),
        "respostas_com_problema": sum(1 for p in problemas if p),
        "problemas": dict(Counter(code for p in problemas for code in p)),
        "chrf_medio": round(sum(scores) / len(scores), 2) if scores else None,
        "latencia_media_ms": round(sum(u.get("ms", 0) for u in uso) / len(uso)) if uso else None,
        "tokens_entrada": entrada, "tokens_saida": saida,
        "custo_usd": str(custo) if custo is not None else None,
    }


def _judge_tally(modelo: str, rows: list[ComparisonRow],
                 precos: dict[str, tuple[Decimal, Decimal]]) -> dict[str, Any]:
    """Wins, losses and ties of the candidate. The win rate counts a tie as half a win, so
    it is >= 0.5 exactly when the candidate won at least as often as it lost."""
    verdicts = [r.juiz for r in rows if r.juiz]
    resultados = Counter(v["resultado"] for v in verdicts)
    julgados = len(verdicts)
    uso = [r.uso.get("juiz") or {} for r in rows if r.juiz]
    entrada, saida = sum(u.get("entrada", 0) for u in uso), sum(u.get("saida", 0) for u in uso)
    custo = cost_usd(entrada, saida, inference_price_for(modelo, precos))
    taxa = (resultados["candidato"] + resultados["empate"] / 2) / julgados if julgados else None
    return {
        "modelo": modelo, "julgados": julgados, "vitorias": resultados["candidato"],
        "derrotas": resultados["atual"], "empates": resultados["empate"],
        "inconsistentes": sum(1 for v in verdicts if not v.get("consistente")),
        "taxa_vitoria": round(taxa, 4) if taxa is not None else None,
        "tokens_entrada": entrada, "tokens_saida": saida,
        "custo_usd": str(custo) if custo is not None else None,
    }


def decide(resumo: dict[str, Any], settings: Settings | None = None) -> str:
    """'aprovado' when the candidate is not worse than the model in use, else
    'aguardando_aprovacao'. Not worse: no more answers with a problem and, with a judge,
    a win rate of at least 0.5. With CURADORIA_AVALIACAO_ATIVA=false everything passes."""
    settings = settings or get_settings()
    if not settings.avaliacao_ativa:
        return APROVADO
    candidato, atual = resumo["candidato"], resumo["atual"]
    if candidato["respostas_com_problema"] > atual["respostas_com_problema"]:
        return AGUARDANDO
    juiz = resumo.get("juiz")
    if juiz and juiz.get("julgados") and juiz["taxa_vitoria"] < 0.5:
        return AGUARDANDO
    return APROVADO


def change(problemas: tuple[list[str], list[str]], juiz: dict[str, Any] | None,
           scores: tuple[float | None, float | None], answered: bool) -> str:
    """piorou | melhorou | igual | pendente for one example, from (candidate, current)
    problems first, then the judge's verdict, and without a judge a chrF gap of
    LIMIAR_CHRF or more."""
    if not answered:
        return "pendente"
    com_problema = bool(problemas[0]), bool(problemas[1])
    if com_problema[0] != com_problema[1]:
        return "piorou" if com_problema[0] else "melhorou"
    if juiz is not None:
        return {"atual": "piorou", "candidato": "melhorou"}.get(juiz.get("resultado"), "igual")
    delta = (scores[0] or 0.0) - (scores[1] or 0.0)
    if abs(delta) >= LIMIAR_CHRF:
        return "melhorou" if delta > 0 else "piorou"
    return "igual"
