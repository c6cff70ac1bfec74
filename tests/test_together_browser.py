"""A real browser starts a Together fine-tuning from "Iniciar Fine-tuning"; the poller puts
its adapter into use on the (fake) vLLM and the Clientes page shows it (issue 16)."""
from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.db.tables import FineTuningJob
from core.finetune.registry import get_provider
from core.finetune.vllm import adapter_name
from core.poller.cycle import run_cycle
from tests.browser_helpers import (  # noqa: F401 (the launch args select Debian's chromium)
    CHROMIUM, browser_type_launch_args, running_dashboard)
from tests.pages_helpers import SENHA, make_admin
from tests.test_together_flow import (  # noqa: F401
    BASE, SLUG, VLLM_BOT_URL, fakes, keys, together_cliente)

pytestmark = pytest.mark.browser


@pytest.fixture
def dashboard_url(engine, fakes, migrated_url, tmp_path):  # noqa: F811
    if engine.dialect.name != "sqlite":
        pytest.skip("the browser walk runs once, on SQLite")
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium not installed")
    together_fake, vllm_fake = fakes
    env = {"DATABASE_URL": migrated_url, "TOGETHER_API_KEY": together_fake.api_key,
           "TOGETHER_BASE_URL": together_fake.base_url,
           "CURADORIA_VLLM_URL": vllm_fake.base_url, "CURADORIA_VLLM_URL_BOT": VLLM_BOT_URL,
           "CURADORIA_FINE_TUNING_DIR": str(tmp_path / "ft"),
           "CURADORIA_INITIAL_PASSWORD_FILE": str(tmp_path / "senha.txt")}
    with running_dashboard(env, tmp_path / "streamlit.log") as url:
        yield url


def test_browser_together_start_to_the_adapter_in_use(engine, dashboard_url, fakes,  # noqa: F811
                                                       redis_client, redis_prefix, tmp_path,
                                                       page):
    from playwright.sync_api import expect

    together_fake, vllm_fake = fakes
    together_cliente(engine, redis_prefix)
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
    expect(dialog).to_contain_text("Provedor: Together AI", timeout=60_000)
    expect(dialog).to_contain_text("Custo estimado pelo provedor: US$")
    expect(dialog).to_contain_text("sem data de desligamento")
    expect(dialog).to_contain_text(BASE)
    page.screenshot(path=str(tmp_path / "dialogo_together.png"))
    assert together_fake.jobs == {}
    dialog.get_by_role("button", name="Sim, Iniciar").click()
    expect(page.get_by_text(re.compile(r"Job #\d+: Pendente"))).to_be_visible(timeout=60_000)
    with session_scope(engine) as session:
        [row] = session.scalars(select(FineTuningJob)).all()
    assert row.provedor == "together" and len(together_fake.jobs) == 1

    together_fake.complete(row.openai_job_id)
    run_cycle(engine, lambda name: get_provider(name), nome="teste", intervalo=60,
              sleep=lambda _s: None)
    name = adapter_name(SLUG, row.id)
    assert keys(redis_client, redis_prefix) == (name, VLLM_BOT_URL)
    assert name in vllm_fake.adapters

    page.get_by_role("link", name="Clientes").click()
    main = page.locator("[data-testid=stMain]")
    expect(main).to_contain_text("Modelo em uso", timeout=30_000)
    expect(main).to_contain_text(name)
    page.screenshot(path=str(tmp_path / "clientes_together.png"))
