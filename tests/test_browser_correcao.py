"""A correction written, edited and removed on a card of Todas as Conversas, in a real browser."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.db import session_scope
from core.db.tables import Mensagem
from core.db.tables_correcoes import Correcao
from tests.browser_helpers import (  # noqa: F401  (fixtures)
    browser_type_launch_args,
    login,
    open_page,
    streamlit_app,
    wait_idle,
)
from tests.conversas_factory import add_cliente, add_conversa, seed_engine

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def conversa(streamlit_app):
    ids = {}

    def build(session):
        loja = add_cliente(session)
        c = add_conversa(session, loja, ["Abre domingo?", "Não abrimos aos domingos."], avaliacao="ruim")
        ids["conversa"] = c.id
        ids["bot"] = session.scalar(select(Mensagem.id).where(Mensagem.conversa_id == c.id,
                                                              Mensagem.role == "assistant"))
    seed_engine(streamlit_app.engine, build)
    return ids


def _rows(engine):
    with session_scope(engine) as session:
        return [(c.mensagem_id, c.resposta_correta, c.atualizada_por)
                for c in session.scalars(select(Correcao))]


def _click_until(page, button, shown, tries: int = 3) -> None:
    """Click until `shown` appears: a click that lands while the previous rerun is still
    redrawing the card (opening it loads the conversa) can hit a node being replaced."""
    for _ in range(tries - 1):
        button.click()
        wait_idle(page)
        try:
            expect(shown).to_be_visible(timeout=5_000)
            return
        except AssertionError:
            continue
    button.click()
    expect(shown).to_be_visible()


def _write(page, card, texto: str) -> None:
    area = card.get_by_label("Resposta correta")
    area.fill(texto)
    area.press("Control+Enter")
    wait_idle(page)
    card.get_by_role("button", name="Salvar correção").click()
    wait_idle(page)


def test_write_edit_and_remove_a_correction(page, streamlit_app, conversa):
    login(page, streamlit_app)
    open_page(page, "Todas as Conversas")
    card = page.locator(f".st-key-card-{conversa['conversa']}")
    card.get_by_text("Ver conversa completa").click()
    expect(card.get_by_role("button", name="Corrigir resposta")).to_be_visible()
    wait_idle(page)
    _click_until(page, card.get_by_role("button", name="Corrigir resposta"),
                 card.get_by_label("Resposta correta"))
    _write(page, card, "Abrimos <b>domingo</b> das 8h às 12h.")
    expect(card.get_by_text("Correção: Abrimos <b>domingo</b> das 8h às 12h.")).to_be_visible()
    expect(card.get_by_text("Corrigida por ana", exact=False)).to_be_visible()
    assert _rows(streamlit_app.engine) == [(conversa["bot"], "Abrimos <b>domingo</b> das 8h às 12h.", None)]

    _click_until(page, card.get_by_role("button", name="Editar correção"),
                 card.get_by_label("Resposta correta"))
    _write(page, card, "Abrimos domingo, das 8h às 12h.")
    expect(card.get_by_text("Correção: Abrimos domingo, das 8h às 12h.")).to_be_visible()
    expect(card.get_by_text("alterada por ana", exact=False)).to_be_visible()
    assert _rows(streamlit_app.engine) == [(conversa["bot"], "Abrimos domingo, das 8h às 12h.", "ana")]

    card.get_by_role("button", name="Remover correção").click()
    wait_idle(page)
    expect(card.get_by_role("button", name="Corrigir resposta")).to_be_visible()
    expect(card.get_by_text("Correção:", exact=False)).to_have_count(0)
    assert _rows(streamlit_app.engine) == []
