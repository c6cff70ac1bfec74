"""The first login in a real browser: the login page hints at a first password while one
is pending, never says where it is on the server, and after the change neither the hint
nor a typed password is left on any form."""
from __future__ import annotations

import pytest

from tests.browser_helpers import APP, browser_type_launch_args, running_dashboard, wait_idle  # noqa: F401

pytestmark = pytest.mark.browser

NOVA = "uma-senha-nova-forte"


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("first-login")
    senha_file = tmp / "segredo" / "senha_inicial.txt"
    env = {"DATABASE_URL": f"sqlite:///{tmp / 'curadoria.db'}",
           "CURADORIA_INITIAL_PASSWORD_FILE": str(senha_file)}
    with running_dashboard(env, tmp / "streamlit.log") as url:
        yield url, senha_file


def _main_text(page) -> str:
    return page.locator(APP).inner_text()


def test_the_first_password_flow_leaves_no_path_hint_or_typed_password(page, fresh_server):
    url, senha_file = fresh_server
    page.goto(url)
    page.wait_for_selector(APP, timeout=30_000)
    page.get_by_text("Primeiro acesso").wait_for(timeout=30_000)
    texto = _main_text(page)
    assert str(senha_file) not in texto and "senha_inicial" not in texto and "segredo" not in texto
    senha = senha_file.read_text().split("senha: ")[1].strip()
    page.get_by_label("Usuário").fill("admin")
    page.get_by_label("Senha").fill(senha)
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("heading", name="Troque sua senha").wait_for(timeout=30_000)

    # a mismatch keeps the form, emptied: no password stays typed in
    page.get_by_label("Senha atual").fill(senha)
    page.get_by_label("Nova senha (mínimo 10 caracteres)").fill(NOVA)
    page.get_by_label("Repita a nova senha").fill("outra-senha-qualquer")
    page.get_by_role("button", name="Salvar nova senha").click()
    page.get_by_text("As novas senhas não conferem.").wait_for(timeout=30_000)
    for label in ("Senha atual", "Nova senha (mínimo 10 caracteres)", "Repita a nova senha"):
        assert page.get_by_label(label).input_value() == ""

    page.get_by_label("Senha atual").fill(senha)
    page.get_by_label("Nova senha (mínimo 10 caracteres)").fill(NOVA)
    page.get_by_label("Repita a nova senha").fill(NOVA)
    page.get_by_role("button", name="Salvar nova senha").click()
    page.get_by_text("Conectado como").wait_for(timeout=30_000)
    # the password form is gone at once, not left faded while the home page loads
    assert page.get_by_label("Senha atual").count() == 0
    assert not senha_file.exists()

    page.get_by_role("button", name="Sair").click()
    page.get_by_role("button", name="Entrar").wait_for(timeout=30_000)
    wait_idle(page)
    texto = _main_text(page)
    assert "Primeiro acesso" not in texto and "senha_inicial" not in texto and "segredo" not in texto
    assert page.get_by_label("Senha").input_value() == ""
