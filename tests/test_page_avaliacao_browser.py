"""A real browser shows a model's answers full of markdown and HTML as literal text on the
Avaliação de modelos screen: no bold, no <b> element, no link is created.

Runs the real dashboard (streamlit run) on the test database and drives Debian's chromium
with Playwright, after a login through the form.
"""
from __future__ import annotations

import os

import pytest

from tests.browser_helpers import (  # noqa: F401 (the launch args select Debian's chromium)
    CHROMIUM, browser_type_launch_args, running_dashboard)
from tests.pages_helpers import SENHA, make_admin
from tests.test_page_avaliacao import MARKUP, held_job  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def dashboard_url(engine, migrated_url, tmp_path):
    if engine.dialect.name != "sqlite":
        pytest.skip("the browser walk runs once, on SQLite")
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium not installed")
    env = {"DATABASE_URL": migrated_url, "CURADORIA_FINE_TUNING_DIR": str(tmp_path / "ft"),
           "CURADORIA_INITIAL_PASSWORD_FILE": str(tmp_path / "senha.txt")}
    with running_dashboard(env, tmp_path / "streamlit.log") as url:
        yield url


def test_browser_shows_markdown_and_html_answers_as_literal_text(engine, held_job,
                                                                 dashboard_url, page, tmp_path):
    from playwright.sync_api import expect

    make_admin(engine, "ana")
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(dashboard_url)
    page.get_by_label("Usuário").fill("ana")
    page.get_by_label("Senha").fill(SENHA)
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("link", name="Avaliação de modelos").click()
    page.get_by_role("heading", name="Avaliação de modelos").wait_for()
    literal = page.get_by_text(MARKUP, exact=True).first
    expect(literal).to_be_visible()
    page.screenshot(path=str(tmp_path / "avaliacao.png"), full_page=True)
    main = page.locator("[data-testid='stMain']")
    expect(main.locator("b", has_text="negrito")).to_have_count(0)
    expect(main.locator("strong", has_text="x")).to_have_count(0)
    expect(main.locator("a[href='http://x']")).to_have_count(0)
    expect(main.locator("a", has_text="a")).to_have_count(0)
    expect(page.get_by_role("button", name="Aprovar")).to_be_visible()
