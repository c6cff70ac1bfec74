"""Admin labels on the conversa card and the detection quality on the analysis page
(AppTest, the real dashboard after a real login)."""
from __future__ import annotations

from core.db import session_scope
from core.review.analysis import analyze_pending
from core.review.labels import get_labels, set_label
from tests.conversas_factory import add_cliente, add_conversa, seed_engine
from tests.pages_helpers import logged_in_dashboard

FALLBACK = ["tem dipirona?", "Desculpe, não encontrei essa informação.", "ok"]


def _seed(engine) -> int:
    ids = {}

    def build(session):
        ids["c"] = add_conversa(session, add_cliente(session), FALLBACK).id
    seed_engine(engine, build)
    analyze_pending(engine)
    return ids["c"]


def test_the_admin_corrects_the_detected_problems_on_the_card(engine):
    cid = _seed(engine)
    at = logged_in_dashboard(engine, page="pages/screens/conversas.py")
    assert not at.exception, at.exception
    seletor = at.multiselect(key=f"rotulo-{cid}")
    assert seletor.value == ["fallback"]  # prefilled with what was detected
    seletor.select("irritado").unselect("fallback")
    at.run()
    at.button(key=f"rotulo-{cid}-salvar").click()
    at.run()
    assert not at.exception, at.exception
    with session_scope(engine) as session:
        rotulo = get_labels(session, [cid])[cid]
    assert rotulo.problemas == ["irritado"] and rotulo.rotulado_por == "ana"
    assert any("Rotulada por ana" in c.value for c in at.caption)


def test_the_analysis_page_shows_precision_and_recall_with_their_basis(engine):
    cid = _seed(engine)
    with session_scope(engine) as session:
        set_label(session, cid, ["fallback", "irritado"], "ana")
    at = logged_in_dashboard(engine, page="pages/screens/analise.py")
    assert not at.exception, at.exception
    assert "Qualidade da detecção" in [s.value for s in at.subheader]
    tabela = next(d.value for d in at.dataframe if "Precisão" in d.value.columns)
    linhas = {r["Problema"]: r for r in tabela.to_dict("records")}
    fallback = linhas["Bot não encontrou a informação"]
    assert (fallback["Precisão"], fallback["Recall"]) == ("100%", "100%")
    assert fallback["Detectadas (base da precisão)"] == 1
    irritado = linhas["Cliente irritado ou reclamando"]
    assert (irritado["Precisão"], irritado["Recall"]) == ("—", "0%")
    assert irritado["Rotuladas com o problema (base do recall)"] == 1


def test_without_labels_the_analysis_page_says_how_to_make_them(engine):
    _seed(engine)
    at = logged_in_dashboard(engine, page="pages/screens/analise.py")
    assert not at.exception, at.exception
    assert any("Ainda não há conversas rotuladas" in i.value for i in at.info)
