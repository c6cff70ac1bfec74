"""Acceptance 1 of issue 20: the rules on a labelled set written by hand for the tests.

tests/data/deteccao_teste.json: 130 pt-BR conversations (pharmacy, clinic, bakery,
mechanic, shops, salon, pet shop, gym, restaurant...), typos, no accents, abbreviations,
emoji, mixed problems and 52 ordinary ones. Not produced by the demo generator: no line
of it is a phrase of core/demo/content.py. Figures in docs/BENCHMARKS.md
(bench/detection.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.demo import content
from core.review.detection import PROBLEMAS, detect_problems
from core.review.quality import evaluate

DATA = Path(__file__).parent / "data"
ROLES = {"u": "user", "a": "assistant"}


def _load(nome: str) -> list[dict]:
    return json.loads((DATA / nome).read_text(encoding="utf-8"))


def _demo_phrases() -> set[str]:
    found: set[str] = set()

    def walk(value):
        if isinstance(value, str):
            found.add(value.strip().lower())
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    for name in dir(content):
        if name.isupper():
            walk(getattr(content, name))
    return {p for p in found if len(p) > 3}


@pytest.fixture(scope="module")
def conjunto() -> list[dict]:
    return _load("deteccao_teste.json")


def test_the_set_is_big_varied_and_labelled(conjunto):
    assert len(conjunto) >= 120
    assert len({c["id"] for c in conjunto}) == len(conjunto)
    comuns = [c for c in conjunto if not c["problemas"]]
    assert 0.3 <= len(comuns) / len(conjunto) <= 0.5
    assert len({c["negocio"] for c in conjunto}) >= 8
    for c in conjunto:
        assert set(c["problemas"]) <= set(PROBLEMAS), c["id"]
        assert {r for r, _ in c["mensagens"]} <= set(ROLES), c["id"]
    mistos = [c for c in conjunto if len(c["problemas"]) >= 2]
    assert len(mistos) >= 20


def test_no_line_comes_from_the_demo_generator(conjunto):
    demo = _demo_phrases()
    # Greetings and "ok"s are everybody's; every sentence of four words or more is ours.
    linhas = {t.strip().lower() for c in conjunto for _, t in c["mensagens"] if len(t.split()) >= 4}
    assert linhas & demo == set()


def test_rules_reach_the_recall_and_ordinary_flag_rate_of_the_issue(conjunto):
    avaliacao = evaluate(
        (detect_problems([(ROLES[r], t) for r, t in c["mensagens"]]).problemas, c["problemas"])
        for c in conjunto)
    recalls = {codigo: q.recall for codigo, q in avaliacao.categorias.items()}
    assert all(q.positivos >= 15 for q in avaliacao.categorias.values())
    assert min(recalls.values()) >= 0.8, recalls
    assert avaliacao.taxa_comuns_sinalizadas <= 0.1
