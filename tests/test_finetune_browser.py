"""A real browser walks the confirm dialog to the pending job in the history (acceptance 5).

Runs the real dashboard (streamlit run) on the test database, pointed at the fake OpenAI
API, and drives Debian's chromium with Playwright.
"""
from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.db.tables import FineTuningJob
from tests.browser_helpers import (  # noqa: F401 (the launch args select Debian's chromium)
    CHROMIUM, browser_type_launch_args, running_dashboard)
from tests.finetune_helpers import make_cliente
from tests.pages_helpers import SENHA, make_admin

pytestmark = pytest.mark.browser


@pytest.fixture
def dashboard_url(engine, fake_openai, migrated_url, tmp_path):
    if engine.dialect.name != "sqlite":
        pytest.skip("the browser walk runs once, on SQLite")
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium not installed")
    env = {"DATABASE_URL": migrated_url, "OPENAI_API_KEY": fake_openai.api_key,
           "OPENAI_BASE_URL": fake_openai.base_url, "CURADORIA_OPENAI_MAX_RETRIES": "0",
           "CURADORIA_FINE_TUNING_DIR": str(tmp_path / "ft"),
           "CURADORIA_INITIAL_PASSWORD_FILE": str(tmp_path / "senha.txt")}
    with running_dashboard(env, tmp_path / "streamlit.log") as url:
        yield url


def test_browser_confirm_dialog_leads_to_the_pending_job_in_the_history(engine, dashboard_url,
                                                                         fake_openai, tmp_path,
                                                                         page):
    from playwright.sync_api import expect

    make_cliente(engine)
    make_admin(engine, "ana")
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(dashboard_url)
    page.get_by_label("Usuário").fill("ana")
    page.get_by_label("Senha").fill(SENHA)
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("link", name="Fine-tuning").click()
    page.get_by_role("button", name="Iniciar Fine-tuning").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Conversas usadas: 40")
    expect(dialog).to_contain_text("O processo não pode ser cancelado.")
    expect(dialog).to_contain_text("14/01/2027")
    expect(dialog).to_contain_text("R$")
    page.screenshot(path=str(tmp_path / "dialogo.png"))
    dialog.get_by_role("button", name="Sim, Iniciar").click()
    expect(page.get_by_text(re.compile(r"Job #\d+: Pendente"))).to_be_visible(timeout=60_000)
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.get_by_role("link", name="Histórico").click()
    expect(page.get_by_text("1 job", exact=True)).to_be_visible()
    # the history grid is drawn on a canvas; its accessible table carries the text
    grid = page.locator("[data-testid=stDataFrame] table")
    expect(grid).to_contain_text("Loja Do Joao")
    expect(grid).to_contain_text("Pendente")
    expect(grid).to_contain_text("ana")
    page.screenshot(path=str(tmp_path / "historico.png"))
    with session_scope(engine) as session:
        [row] = session.scalars(select(FineTuningJob)).all()
    assert row.status == "pending" and len(fake_openai.jobs) == 1
