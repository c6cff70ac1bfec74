"""The login session in a real browser: shared links, F5, new tabs, "Sair", bad cookies.

Real chromium against a freshly started `streamlit run app.py` (tests/browser_helpers.py).
"""
from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from core import login_sessions
from core.auth import set_password
from core.clock import utcnow
from core.config import Settings
from core.db import session_scope
from core.db.tables_sessoes import Sessao
from tests.browser_helpers import (  # noqa: F401  (fixtures)
    browser_type_launch_args,
    streamlit_app,
    wait_idle,
)
from tests.conversas_factory import add_cliente, add_conversa, seed_engine

pytestmark = pytest.mark.browser

FILTERED = "conversas?cliente=padaria&avaliacao=ruim"
TIMEOUT = 30_000


@pytest.fixture(scope="module")
def dados(streamlit_app):
    def build(session):
        padaria = add_cliente(session, "padaria", "Padaria Central")
        loja = add_cliente(session, "loja", "Loja Exemplo")
        base = dt.datetime(2026, 11, 10, 9)
        for h, avaliacao in enumerate(("ruim", "ruim", "boa", None)):
            add_conversa(session, padaria, [f"pergunta padaria {h}", "resposta"],
                         inicio=base + dt.timedelta(hours=h), avaliacao=avaliacao)
        add_conversa(session, loja, ["pergunta da loja", "resposta"], avaliacao="ruim",
                     inicio=base + dt.timedelta(days=1))
    seed_engine(streamlit_app.engine, build)


def settings_of(app) -> Settings:
    """The server's settings that sign cookies (its key file sits next to the database)."""
    folder = Path(app.engine.url.database).parent
    return Settings(initial_password_file=folder / "senha_inicial.txt")


def expect_login_form(page) -> None:
    expect(page.get_by_label("Usuário")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_label("Senha")).to_be_visible()
    expect(page.get_by_text("Conectado como")).to_have_count(0)


def fill_login(page, app) -> None:
    page.get_by_label("Usuário").fill(app.usuario)
    page.get_by_label("Senha").fill(app.senha)
    page.get_by_role("button", name="Entrar").click()
    page.get_by_text("Conectado como").wait_for(timeout=TIMEOUT)


def session_cookie(context) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == login_sessions.COOKIE_NAME), None)


def wait_for_cookie(page, context) -> dict:
    for _ in range(100):
        if (cookie := session_cookie(context)) is not None:
            return cookie
        page.wait_for_timeout(100)
    raise AssertionError("the login left no session cookie")


def expect_filtered_conversas(page) -> None:
    page.get_by_role("heading", name="Todas as Conversas").wait_for(timeout=TIMEOUT)
    expect(page.get_by_text("2 conversas · página 1 de 1")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("combobox", name="Cliente")).to_have_value("Padaria Central")
    expect(page.get_by_role("combobox", name="Avaliação")).to_have_value(re.compile("ruim", re.IGNORECASE))
    expect(page).to_have_url(re.compile(r"/conversas\?.*cliente=padaria"))
    expect(page).to_have_url(re.compile(r"avaliacao=ruim"))


def logged_in_context(browser, app, path: str = ""):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{app.url}/{path}")
    expect_login_form(page)
    fill_login(page, app)
    wait_for_cookie(page, context)
    return context, page


def test_a_shared_link_asks_for_login_then_opens_with_its_filters_and_f5_keeps_it(
        browser, streamlit_app, dados):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{streamlit_app.url}/{FILTERED}")
    expect_login_form(page)
    expect(page.get_by_role("dialog")).to_have_count(0)  # no "Page not found" box
    expect(page.get_by_text("pergunta padaria")).to_have_count(0)
    fill_login(page, streamlit_app)
    expect_filtered_conversas(page)

    cookie = wait_for_cookie(page, context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    assert cookie["expires"] > time.time() + 29 * 86400  # expiring, 30 days
    with session_scope(streamlit_app.engine) as session:
        hashes = session.scalars(select(Sessao.token_hash)).all()
    token = cookie["value"].split(".")[0]
    assert token not in str(hashes) and len(hashes[-1]) == 64  # only the hash is stored

    page.reload()  # F5: same page, same filters, no login form
    expect_filtered_conversas(page)
    expect(page.get_by_label("Senha")).to_have_count(0)

    outra = context.new_page()  # a new tab
    outra.goto(f"{streamlit_app.url}/analise")
    outra.get_by_role("heading", name="Análise de Treinamento").wait_for(timeout=TIMEOUT)
    expect(outra.get_by_text("Conectado como")).to_be_visible()
    context.close()


def test_sair_ends_the_session_in_every_tab(browser, streamlit_app, dados):
    context, aba1 = logged_in_context(browser, streamlit_app)
    aba2 = context.new_page()
    aba2.goto(f"{streamlit_app.url}/{FILTERED}")
    expect_filtered_conversas(aba2)

    aba1.get_by_role("button", name="Sair").click()
    expect_login_form(aba1)
    for _ in range(50):  # the page asks the server to delete the cookie
        if session_cookie(context) is None:
            break
        aba1.wait_for_timeout(100)
    assert session_cookie(context) is None

    # The other tab, still showing the list: its next action meets the login form.
    aba2.get_by_test_id("stSidebarNav").get_by_text("Histórico", exact=True).click()
    expect_login_form(aba2)
    aba2.reload()
    expect_login_form(aba2)
    with session_scope(streamlit_app.engine) as session:
        assert session.scalar(select(Sessao).order_by(Sessao.id.desc())).revogada_em is not None
    context.close()


def test_a_revoked_cookie_brought_back_gets_the_login_form(browser, streamlit_app, dados):
    context, page = logged_in_context(browser, streamlit_app)
    cookie = session_cookie(context)
    page.get_by_role("button", name="Sair").click()
    expect_login_form(page)
    other = browser.new_context()  # a copy of the cookie kept from before "Sair"
    other.add_cookies([cookie])
    tab = other.new_page()
    tab.goto(f"{streamlit_app.url}/conversas")
    expect_login_form(tab)
    other.close()
    context.close()


def test_an_idle_session_gets_the_login_form(browser, streamlit_app, dados):
    context, page = logged_in_context(browser, streamlit_app, "conversas")
    with session_scope(streamlit_app.engine) as session:
        session.execute(update(Sessao).where(Sessao.revogada_em.is_(None))
                        .values(ultimo_uso_em=utcnow() - dt.timedelta(hours=13)))
    page.reload()
    expect_login_form(page)
    context.close()


def test_a_password_change_ends_the_open_sessions(browser, streamlit_app, dados):
    context, page = logged_in_context(browser, streamlit_app)
    with session_scope(streamlit_app.engine) as session:
        set_password(session, streamlit_app.usuario, streamlit_app.senha + "!")
        set_password(session, streamlit_app.usuario, streamlit_app.senha)
    page.reload()
    expect_login_form(page)
    context.close()


@pytest.mark.parametrize("forja", ["lixo", "assinado-sem-sessao", "assinatura-trocada"])
def test_a_forged_cookie_gets_the_login_form(browser, streamlit_app, dados, forja):
    settings = settings_of(streamlit_app)
    if forja == "lixo":
        value = "abc.def"
    elif forja == "assinado-sem-sessao":  # a correct signature, a token with no session
        value = login_sessions.cookie_value("x" * 43, settings)
    else:  # a real session's token with a signature of someone else's making
        context, page = logged_in_context(browser, streamlit_app)
        token = session_cookie(context)["value"].split(".")[0]
        context.close()
        value = f"{token}.{'0' * 32}"
    context = browser.new_context()
    context.add_cookies([{"name": login_sessions.COOKIE_NAME, "value": value,
                          "url": streamlit_app.url}])
    page = context.new_page()
    page.goto(f"{streamlit_app.url}/{FILTERED}")
    expect_login_form(page)
    expect(page.get_by_text("pergunta padaria")).to_have_count(0)
    context.close()


def test_the_cookie_route_refuses_other_sites_and_used_tickets(streamlit_app, dados):
    import urllib.error
    import urllib.request

    from core.auth import authenticate

    def new_ticket() -> str:
        with session_scope(streamlit_app.engine) as session:
            admin = authenticate(session, streamlit_app.usuario, streamlit_app.senha)
            return login_sessions.open_session(session, admin).ticket

    def post(ticket: str, origin: str, **headers) -> tuple[int, str]:
        request = urllib.request.Request(f"{streamlit_app.url}/_curadoria/sessao",
                                         data=ticket.encode(), method="POST",
                                         headers={"Origin": origin, **headers})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers.get("Set-Cookie", "")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Set-Cookie", "")

    ticket = new_ticket()
    assert post(ticket, "https://outro-site.example") == (403, "")
    status, cookie = post(ticket, streamlit_app.url)
    assert status == 204 and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Max-Age=" in cookie and "Secure" not in cookie
    assert post(ticket, streamlit_app.url) == (403, "")  # a ticket works once
    # Behind an https proxy the cookie is Secure (CURADORIA_SESSAO_COOKIE_SEGURO=auto).
    status, cookie = post(new_ticket(), streamlit_app.url, **{"X-Forwarded-Proto": "https"})
    assert status == 204 and "Secure" in cookie
