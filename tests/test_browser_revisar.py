"""Revisar in a real browser: ten conversas rated by keyboard, each with a reason."""
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
def doze(streamlit_app):
    ids = []

    def build(session):
        loja = add_cliente(session)
        base = dt.datetime(2026, 11, 10, 9)
        for h in range(12):
            ids.append(add_conversa(session, loja, [f"Pergunta {h}", f"Resposta {h}"],
                                    inicio=base + dt.timedelta(hours=h)).id)
    seed_engine(streamlit_app.engine, build)
    return ids


def current_id(page) -> int:
    return int(page.locator(HEADING).inner_text().split("#")[1])


def test_ten_conversas_rated_by_keyboard_with_reasons(page, streamlit_app, doze):
    login(page, streamlit_app)
    open_page(page, "Revisar")
    wait_idle(page)
    vistas = []
    for i in range(10):
        atual = current_id(page)
        vistas.append(atual)
        motivo = page.get_by_role("textbox", name="Motivo (opcional)")
        expect(motivo).to_have_value("")  # this conversa's own field is on screen
        motivo.focus()
        page.keyboard.type(f"motivo {i}")
        page.keyboard.press("Tab")  # leaves the field: the reason is kept, keys rate again
        wait_idle(page)
        page.keyboard.press("1" if i % 2 == 0 else "2")
        expect(page.locator(HEADING)).not_to_have_text(f"Conversa #{atual}", timeout=15_000)
        wait_idle(page)
    assert vistas == list(reversed(doze))[:10]  # newest first, one after the other
    expect(page.get_by_text("10 avaliada(s) nesta sessão", exact=False)).to_be_visible()
    with session_scope(streamlit_app.engine) as session:
        notas = dict(session.execute(select(Conversa.id, Conversa.avaliacao)
                                     .where(Conversa.avaliacao.is_not(None))).all())
        trilha = session.execute(select(AvaliacaoHistorico.conversa_id, AvaliacaoHistorico.motivo,
                                        AvaliacaoHistorico.avaliado_por)).all()
    assert notas == {cid: "boa" if i % 2 == 0 else "ruim" for i, cid in enumerate(vistas)}
    assert sorted(tuple(t) for t in trilha) == sorted(
        (cid, f"motivo {i}", "ana") for i, cid in enumerate(vistas))
