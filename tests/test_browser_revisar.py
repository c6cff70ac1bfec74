"""Revisar in a real browser: ten conversas rated by keyboard, each with a reason; the
list's pager brings the reader back to the top of the next page."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.db import session_scope
from core.db.tables import AvaliacaoHistorico, Conversa
from tests.browser_helpers import (  # noqa: F401  (fixtures)
    browser_type_launch_args,
    login,
    open_page,
    streamlit_app,
    wait_idle,
)
from tests.conversas_factory import add_cliente, add_conversa, seed_engine

pytestmark = pytest.mark.browser
HEADING = "h3:has-text('Conversa #')"


@pytest.fixture(scope="module")
def conversas(streamlit_app):
    """25 conversas: two pages of the list."""
    ids = []

    def build(session):
        loja = add_cliente(session)
        base = dt.datetime(2026, 11, 10, 9)
        for h in range(25):
            ids.append(add_conversa(session, loja, [f"Pergunta {h}", f"Resposta {h}"],
                                    inicio=base + dt.timedelta(hours=h)).id)
    seed_engine(streamlit_app.engine, build)
    return ids


def current_id(page) -> int:
    return int(page.locator(HEADING).inner_text().split("#")[1])


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and 0 <= box["y"] < page.viewport_size["height"]


def test_next_page_starts_at_the_top_of_the_list(page, streamlit_app, conversas):
    login(page, streamlit_app)
    open_page(page, "Todas as Conversas")
    wait_idle(page)
    contagem = page.get_by_text("25 conversas · página 1 de 2")
    proxima = page.locator(".st-key-pagina-proxima button")
    proxima.scroll_into_view_if_needed()
    assert not in_view(page, contagem)  # the reader is at the end of page 1
    proxima.click()
    expect(page.get_by_text("25 conversas · página 2 de 2")).to_be_visible()
    wait_idle(page)
    expect(page.get_by_text("25 conversas · página 2 de 2")).to_be_in_viewport()
    anterior = page.locator(".st-key-pagina-anterior button")
    anterior.scroll_into_view_if_needed()
    anterior.click()  # and back, from the end of page 2
    expect(page.get_by_text("25 conversas · página 1 de 2")).to_be_visible()
    wait_idle(page)
    expect(page.get_by_text("25 conversas · página 1 de 2")).to_be_in_viewport()


def test_ten_conversas_rated_by_keyboard_with_reasons(page, streamlit_app, conversas):
    login(page, streamlit_app)
    open_page(page, "Revisar")
    wait_idle(page)
    vistas = []
    for i in range(10):
        atual = current_id(page)
        vistas.append(atual)
        motivo = page.locator(f".st-key-rv_motivo_{atual} input")
        expect(motivo).to_have_value("")  # this conversa's own field is on screen
        motivo.focus()
        page.keyboard.type(f"motivo {i}")
        # Leaving the field keeps the reason; then the keys rate again.
        page.keyboard.press("Tab" if i % 2 else "Enter")
        wait_idle(page)
        page.wait_for_function("() => document.activeElement?.tagName !== 'INPUT'")
        page.keyboard.press("1" if i % 2 == 0 else "2")
        expect(page.locator(HEADING)).not_to_have_text(f"Conversa #{atual}", timeout=15_000)
        wait_idle(page)
    assert vistas == list(reversed(conversas))[:10]  # newest first, one after the other
    expect(page.get_by_text("10 avaliada(s) nesta sessão", exact=False)).to_be_visible()
    # P skips without rating, V comes back (also with the focus on a tag button).
    decima_primeira = current_id(page)
    page.keyboard.press("p")
    expect(page.locator(HEADING)).not_to_have_text(f"Conversa #{decima_primeira}", timeout=15_000)
    wait_idle(page)
    page.keyboard.press("v")
    expect(page.locator(HEADING)).to_have_text(f"Conversa #{decima_primeira}", timeout=15_000)
    with session_scope(streamlit_app.engine) as session:
        notas = dict(session.execute(select(Conversa.id, Conversa.avaliacao)
                                     .where(Conversa.avaliacao.is_not(None))).all())
        trilha = session.execute(select(AvaliacaoHistorico.conversa_id, AvaliacaoHistorico.motivo,
                                        AvaliacaoHistorico.avaliado_por)).all()
    assert notas == {cid: "boa" if i % 2 == 0 else "ruim" for i, cid in enumerate(vistas)}
    assert sorted(tuple(t) for t in trilha) == sorted(
        (cid, f"motivo {i}", "ana") for i, cid in enumerate(vistas))
