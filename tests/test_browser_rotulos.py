"""Problem labels in a real browser: the admin corrects a card's detected problems, and
the analysis page then shows the detector's precision and recall against the label."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.db import session_scope
from core.review.analysis import analyze_pending
from core.review.labels import get_labels
from tests.browser_helpers import (  # noqa: F401  (fixtures)
    browser_type_launch_args,
    login,
    open_page,
    streamlit_app,
    wait_idle,
)
from tests.conversas_factory import add_cliente, add_conversa, seed_engine

pytestmark = pytest.mark.browser


def add_to_multiselect(page, seletor, typed: str, option: str) -> None:
    """Type into a multiselect and pick an option until its chip shows. The option list
    is redrawn as the typed text filters it, so a click can land on an option that is
    being replaced and select nothing; the admin would simply click again."""
    campo = seletor.locator(".react-aria-ComboBox input")
    chip = seletor.locator(".react-aria-ComboBox [data-tag]").filter(has_text=option)
    for _ in range(5):
        if not campo.input_value():
            campo.click()
            campo.press_sequentially(typed)
        page.get_by_role("option", name=option).click()
        try:
            expect(chip).to_have_count(1, timeout=3_000)
            break
        except AssertionError:
            continue
    expect(chip).to_have_count(1)
    page.keyboard.press("Escape")
    expect(chip).to_have_count(1)


def test_the_admin_corrects_the_problems_and_the_analysis_measures_them(page, streamlit_app):
    ids = {}

    def build(session):
        ids["c"] = add_conversa(session, add_cliente(session, "farmacia-rotulo", "Farmácia Rótulo"),
                                ["tem dipirona?", "Desculpe, não encontrei essa informação.",
                                 "q absurdo"]).id
    seed_engine(streamlit_app.engine, build)
    analyze_pending(streamlit_app.engine)
    cid = ids["c"]

    login(page, streamlit_app)
    open_page(page, "Todas as Conversas")
    card = page.locator(f".st-key-card-{cid}")
    card.get_by_text("Problemas desta conversa (rótulo)").click()
    seletor = card.locator(f".st-key-rotulo-{cid}")
    expect(seletor).to_contain_text("Bot não encontrou a informação")
    wait_idle(page)
    add_to_multiselect(page, seletor, "atendente humano", "Cliente pediu um atendente humano")
    wait_idle(page)
    card.get_by_role("button", name="Confirmar problemas").click()
    expect(card.get_by_text("Rotulada por ana", exact=False)).to_be_visible()
    with session_scope(streamlit_app.engine) as session:
        assert get_labels(session, [cid])[cid].problemas == ["fallback", "irritado", "humano"]

    open_page(page, "Análise de Treinamento")
    expect(page.get_by_text("Qualidade da detecção")).to_be_visible()
    expect(page.get_by_text("Medida contra 1 conversas rotuladas", exact=False)).to_be_visible()
