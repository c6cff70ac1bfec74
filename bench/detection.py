"""Benchmark: quality of the rule-based problem detector on hand-labelled pt-BR conversations.

Usage:
    .venv/bin/python bench/detection.py [--conjunto tests/data/deteccao_teste.json] [--erros]
        [--classificador regras|llm]

The labelled sets were written by hand for the tests (not by the demo generator):
tests/data/deteccao_teste.json is the test set the figures in docs/BENCHMARKS.md come from;
tests/data/deteccao_dev.json is the development set looked at while writing the rules.
Prints per-category recall and precision and the share of ordinary conversations
(no expected problem) that get flagged; --erros lists each disagreement.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.review.detection import PROBLEMAS, detect_problems  # noqa: E402
from core.review.quality import Avaliacao, evaluate  # noqa: E402

ROLES = {"u": "user", "a": "assistant"}


def load(path: Path) -> list[dict]:
    conversas = json.loads(path.read_text(encoding="utf-8"))
    for c in conversas:
        c["mensagens"] = [(ROLES[r], t) for r, t in c["mensagens"]]
    return conversas


def llm_detector():
    """The configured LLM classifier asked directly (no database, no cache)."""
    from core.review.classifier import FORMATO, classifier_from_settings, parse_answer, prompt_messages

    classificador = classifier_from_settings("llm")
    if classificador is None:
        raise SystemExit("Defina CURADORIA_CLASSIFICADOR_MODELO (e _ENDPOINT / _API_KEY).")

    def detect(mensagens):
        return parse_answer(classificador.ask(prompt_messages(mensagens), response_format=FORMATO).content)
    return detect


def measure(conversas: list[dict], detect=None) -> tuple[Avaliacao, list[tuple[dict, list[str]]]]:
    detect = detect or (lambda mensagens: detect_problems(mensagens).problemas)
    detectados = [(c, detect(c["mensagens"])) for c in conversas]
    return evaluate((d, c["problemas"]) for c, d in detectados), detectados


def fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conjunto", default=str(ROOT / "tests/data/deteccao_teste.json"))
    parser.add_argument("--erros", action="store_true", help="Lista as discordâncias.")
    parser.add_argument("--classificador", choices=("regras", "llm"), default="regras",
                        help="'llm': o classificador configurado (CURADORIA_CLASSIFICADOR_MODELO), "
                        "uma pergunta por conversa, sem cache.")
    args = parser.parse_args()
    conversas = load(Path(args.conjunto))
    avaliacao, detectados = measure(conversas, llm_detector() if args.classificador == "llm" else None)
    print(f"{args.conjunto}: {len(conversas)} conversas, {avaliacao.comuns} comuns")
    print(f"{'categoria':<14}{'rotuladas':>10}{'detectadas':>11}{'recall':>8}{'precisão':>10}")
    for q in avaliacao.categorias.values():
        print(f"{q.codigo:<14}{q.positivos:>10}{q.detectados:>11}{fmt(q.recall):>8}{fmt(q.precisao):>10}")
    print(f"comuns sinalizadas: {avaliacao.comuns_sinalizadas}/{avaliacao.comuns} "
          f"({fmt(avaliacao.taxa_comuns_sinalizadas)})")
    if args.erros:
        for c, d in detectados:
            if set(d) != set(c["problemas"]):
                print(f"\n{c['id']} esperado={sorted(c['problemas'])} detectado={sorted(d)}")
                for role, texto in c["mensagens"]:
                    print(f"   {role[0]}: {texto}")


if __name__ == "__main__":
    assert list(PROBLEMAS)  # the six categories
    main()
