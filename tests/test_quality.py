"""Acceptance 3 of issue 20: precision and recall against labels, exact on a fixture
computed by hand."""
from __future__ import annotations

import pytest

from core.review.quality import evaluate

# (detected, labelled) per conversa
FIXTURE = [
    ({"fallback"}, {"fallback"}),                 # fallback TP
    ({"fallback", "vaga"}, {"fallback"}),         # fallback TP, vaga FP
    (set(), {"fallback", "irritado"}),            # fallback FN, irritado FN
    ({"irritado"}, {"irritado"}),                 # irritado TP
    ({"humano"}, set()),                          # ordinary, flagged: humano FP
    (set(), set()),                               # ordinary, not flagged
    (set(), set()),                               # ordinary, not flagged
    ({"repetiu", "sem_resposta"}, {"repetiu"}),   # repetiu TP, sem_resposta FP
]


def test_figures_are_exact_on_the_hand_computed_fixture():
    a = evaluate(FIXTURE)
    f = a.categorias["fallback"]
    assert (f.verdadeiros, f.falsos_positivos, f.falsos_negativos) == (2, 0, 1)
    assert f.precisao == 1.0 and f.recall == pytest.approx(2 / 3)
    assert f.positivos == 3 and f.detectados == 2
    i = a.categorias["irritado"]
    assert (i.precisao, i.recall) == (1.0, 0.5)
    v = a.categorias["vaga"]
    assert (v.precisao, v.recall, v.detectados, v.positivos) == (0.0, None, 1, 0)
    h = a.categorias["humano"]
    assert (h.precisao, h.recall) == (0.0, None)
    r = a.categorias["repetiu"]
    assert (r.precisao, r.recall) == (1.0, 1.0)
    s = a.categorias["sem_resposta"]
    assert (s.precisao, s.recall) == (0.0, None)
    assert all(q.conversas == 8 for q in a.categorias.values())
    assert (a.comuns, a.comuns_sinalizadas) == (3, 1)
    assert a.taxa_comuns_sinalizadas == pytest.approx(1 / 3)


def test_no_labels_means_no_figure_not_zero():
    a = evaluate([])
    assert all(q.precisao is None and q.recall is None for q in a.categorias.values())
    assert a.taxa_comuns_sinalizadas is None
