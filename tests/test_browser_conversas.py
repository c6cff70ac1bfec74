"""Todas as Conversas in a real browser: filter, search, expand, rate, reload."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

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
def dados(streamlit_app):
    def build(session):
        loja = add_cliente(session)
        base = dt.datetime(2026, 11, 10, 15)
        for h in range(5):
            add_conversa(session, loja, inicio=base + dt.timedelta(hours=h))
        add_conversa(session, loja, ["Cadê minha entrega?", "<script>alert('x')</script> **bold**"],
                     inicio=base + dt.timedelta(days=1), whatsapp="5511987654321")
        add_conversa(session, loja, ["Já avaliada"], avaliacao="ruim",
                     inicio=base + dt.timedelta(days=2))
    seed_engine(streamlit_app.engine, build)


def choose(page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def test_filter_search_expand_and_rate_a_conversa(page, streamlit_app, dados):
    login(page, streamlit_app)
    open_page(page, "Todas as Conversas")
    expect(page.get_by_text("Todas as conversas: 0 boas, 1 ruim, 6 sem avaliação")).to_be_visible()

    choose(page, "Status", "Finalizada")
    expect(page.get_by_text("7 conversas · página 1 de 1")).to_be_visible()
    expect(page).to_have_url(re.compile(r"status=finalizada"))

    busca = page.get_by_label("Buscar nas mensagens")
    busca.fill("entregá")
    busca.press("Enter")
    expect(page.get_by_text("1 conversas · página 1 de 1")).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=entreg"))
    card = page.locator(".st-key-card-6")
    expect(card.get_by_text("+55 11 98765-4321", exact=False)).to_be_visible()

    card.get_by_text("Ver conversa completa").click()
    expect(card.get_by_text("<script>alert('x')</script> **bold**").first).to_be_visible()

    expect(card.locator(".st-key-badge-6")).to_contain_text("Sem avaliação")
    card.get_by_role("button", name="Boa").click()
    expect(page.get_by_text("Todas as conversas: 1 boa, 1 ruim, 5 sem avaliação")).to_be_visible()
    expect(card.get_by_text("Avaliada por ana", exact=False)).to_be_visible()
    expect(card.locator(".st-key-badge-6")).to_contain_text("Boa")

    # A reload keeps the session (the login cookie), the page and the filters in its URL.
    page.reload()
    page.get_by_role("heading", name="Todas as Conversas").wait_for(timeout=30_000)
    expect(page.get_by_label("Senha")).to_have_count(0)
    expect(page.get_by_label("Buscar nas mensagens")).to_have_value("entregá")
    expect(page.get_by_text("Todas as conversas: 1 boa, 1 ruim, 5 sem avaliação")).to_be_visible()
    choose(page, "Avaliação", "Boa")
    expect(page.get_by_text("1 conversas · página 1 de 1")).to_be_visible()
    card = page.locator(".st-key-card-6")
    expect(card.get_by_text("Avaliada por ana", exact=False)).to_be_visible()
    expect(card.locator(".st-key-badge-6")).to_contain_text("Boa")
