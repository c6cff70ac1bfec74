"""In a real browser, a cliente named like markdown and a `?conversa=` link full of markdown
read exactly as written: no link, bold, colour, icon or LaTeX comes out of them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import quote

import pytest

from core.db.tables import FineTuningJob
from tests.browser_helpers import (  # noqa: F401  (fixtures)
    APP,
    browser_type_launch_args,
    open_page,
    streamlit_app,
    wait_idle,
)
from tests.conversas_factory import add_cliente, add_conversa, seed_engine

pytestmark = pytest.mark.browser

NOME = "**Loja** [x](http://evil.example) :red[oi] $x^2$ :material/home: www.evil.example"
LINK = "[y](http://evil.example) **negrito** $z$"


@pytest.fixture(scope="module")
def hostil(streamlit_app):
    def build(session):
        cliente = add_cliente(session, slug="evil", nome=NOME)
        for h in range(3):
            add_conversa(session, cliente, ["Oi", "Olá"], inicio=dt.datetime(2026, 11, 10, 9 + h))
        session.add(FineTuningJob(cliente_id=cliente.id, openai_job_id="ftjob-evil", status="running",
                                  modelo_base="gpt-4.1-mini-2025-04-14", conversas_usadas=80,
                                  tokens_estimados=100_000, custo_estimado_usd=Decimal("0.50"),
                                  custo_estimado=Decimal("2.75"), epocas=3,
                                  ultimo_erro_transitorio=LINK))
    seed_engine(streamlit_app.engine, build)


def log_in_at(page, app, path: str) -> None:
    """Open a URL (the login form shows first), log in, and wait for the screen."""
    page.goto(f"{app.url}/{path}")
    page.wait_for_selector(APP, timeout=30_000)
    page.get_by_label("Usuário").fill(app.usuario)
    page.get_by_label("Senha").fill(app.senha)
    page.get_by_role("button", name="Entrar").click()
    page.get_by_text("Conectado como").wait_for(timeout=30_000)
    wait_idle(page)


def visible_text(locator) -> str:
    # plain() may put an invisible word joiner inside URLs and e-mails (see pages/ui/common.py)
    return locator.inner_text().replace("\u2060", "")


def assert_read_as_written(page, *textos: str) -> None:
    main = page.get_by_test_id("stMain")
    texto = visible_text(main)
    for esperado in textos:
        assert esperado in texto
    assert main.locator("a[href*='evil.example']").count() == 0
    assert main.locator(".katex").count() == 0
    assert main.locator("strong, em, code, del").filter(has_text="Loja").count() == 0
    assert main.locator("strong, em, code, del").filter(has_text="negrito").count() == 0
    assert main.locator("[data-testid='stIconMaterial']").filter(has_text="home").count() == 0


def test_a_markdown_cliente_name_reads_as_written_on_the_fine_tuning_screen(page, streamlit_app, hostil):
    log_in_at(page, streamlit_app, "")
    open_page(page, "Fine-tuning")
    page.get_by_text("Última falha passageira do provedor").wait_for()
    assert [visible_text(h) for h in page.locator("h3").all()] == [NOME]
    assert_read_as_written(page, NOME, f"Última falha passageira do provedor: {LINK}")


def test_a_markdown_conversa_link_is_quoted_as_text(page, streamlit_app, hostil):
    log_in_at(page, streamlit_app, f"conversas?conversa={quote(LINK)}")
    page.get_by_text("Link de conversa inválido").wait_for()
    assert_read_as_written(page, f"Link de conversa inválido: '{LINK}'.")
