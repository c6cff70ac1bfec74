"""The login gate: nothing but the login form before a successful login."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.auth import LOGIN_REFUSED, authenticate, change_password
from core.db.tables import Administrador
from core.errors import AuthError, InvalidInput
from tests.pages_helpers import (SENHA, change_password_form, login, make_admin, menu_pages,
                                 open_dashboard, shown)


def _texts(at) -> str:
    parts = [e.value for e in at.title] + [e.value for e in at.markdown] + \
        [e.value for e in at.caption] + [str(e.value) for e in at.metric]
    return " ".join(str(p) for p in parts)


def test_before_login_only_the_login_form_is_shown(engine):
    make_admin(engine)
    at = open_dashboard()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Usuário", "Senha"]
    assert "Visão geral" not in _texts(at)
    assert len(at.dataframe) == 0 and len(at.metric) == 0


def test_wrong_password_is_refused_with_a_portuguese_message(engine):
    make_admin(engine)
    at = login(open_dashboard(), "ana", "senha-errada-000")
    assert [shown(e.value) for e in at.error] == [
        "Usuário ou senha incorretos, ou acesso bloqueado temporariamente. "
        "Tente de novo em alguns instantes."]
    assert "Visão geral" not in _texts(at)


def test_right_password_shows_the_home_with_each_cliente(engine):
    from core.demo.generate import generate_conversations, load_database, default_anchor
    load_database(engine, generate_conversations(40, seed=3), default_anchor())
    make_admin(engine)
    at = login(open_dashboard(), "ana", SENHA)
    assert not at.exception
    assert at.title[0].value == "Visão geral"
    clientes = list(at.dataframe[0].value["Cliente"])
    assert "Padaria Pão Dourado" in clientes
    assert sum(at.dataframe[0].value["Conversas"]) == 40


def test_logout_returns_to_the_login_form(engine):
    make_admin(engine)
    at = login(open_dashboard(), "ana", SENHA)
    at.sidebar.button[0].click()
    at.run()
    assert [t.label for t in at.text_input] == ["Usuário", "Senha"]


def test_first_start_creates_admin_with_a_one_time_password_that_must_be_changed(engine, settings):
    at = open_dashboard()  # empty database: the initial admin is created
    senha = settings.initial_password_file.read_text().split("senha: ")[1].strip()
    at = login(at, "admin", senha)
    assert at.title[0].value == "Troque sua senha"
    change_password_form(at, senha, "uma-senha-nova-forte")
    assert at.title[0].value == "Visão geral"
    assert not settings.initial_password_file.exists()


def test_repeated_wrong_passwords_lock_the_account_for_a_while(session, settings):
    from core.auth import create_admin
    create_admin(session, "bruno", SENHA)
    now = dt.datetime(2026, 11, 1, 12, 0)
    for _ in range(settings.login_max_failures):
        with pytest.raises(AuthError, match="incorretos"):
            authenticate(session, "bruno", "errada-errada", now=now)
    with pytest.raises(AuthError) as locked:
        authenticate(session, "bruno", SENHA, now=now)
    assert str(locked.value) == LOGIN_REFUSED
    assert authenticate(session, "bruno", SENHA, now=now + dt.timedelta(seconds=31)).usuario == "bruno"


def test_passwords_are_never_stored_in_plain_text(session):
    from core.auth import create_admin
    create_admin(session, "carla", SENHA)
    stored = session.scalar(select(Administrador.senha_hash).where(Administrador.usuario == "carla"))
    assert SENHA not in stored and stored.startswith("scrypt")


def test_a_short_new_password_is_refused(session):
    from core.auth import create_admin
    create_admin(session, "dora", SENHA)
    with pytest.raises(InvalidInput, match="10 caracteres"):
        change_password(session, "dora", SENHA, "curta")


def test_migrate_command_creates_the_first_admin_once_and_says_where_the_password_is(engine, settings, capsys):
    from core.__main__ import main
    assert main(["migrate"]) == 0
    assert "senha gravada em" in capsys.readouterr().out
    assert settings.initial_password_file.stat().st_mode & 0o077 == 0
    assert main(["migrate"]) == 0
    assert "senha gravada" not in capsys.readouterr().out


@pytest.mark.parametrize("path", menu_pages())
@pytest.mark.parametrize("estado", [{}, {"usuario": "ana"}, {"usuario": "ana", "sessao_senha": "x"}],
                         ids=["anonimo", "sem-carimbo", "carimbo-errado"])
def test_a_screen_run_on_its_own_checks_the_session_before_touching_data(engine, path, estado):
    from streamlit.testing.v1 import AppTest

    from tests.conversas_factory import add_cliente, add_conversa, seed_engine
    from tests.pages_helpers import ROOT

    make_admin(engine)
    seed_engine(engine, lambda s: add_conversa(s, add_cliente(s, "sigilo", "Loja Sigilosa"),
                                               ["texto-sigiloso-1"]))
    at = AppTest.from_file(str(ROOT / path), default_timeout=30)
    for key, value in estado.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception
    assert [shown(w.value) for w in at.warning] == ["Entre no Curadoria para ver esta página."]
    assert not (at.title or at.dataframe or at.metric or at.selectbox or at.text or at.markdown)


def test_after_the_first_password_change_the_login_page_has_no_first_access_hint(engine, settings):
    at = open_dashboard()
    assert any("Primeiro acesso" in c.value for c in at.caption)
    senha = settings.initial_password_file.read_text().split("senha: ")[1].strip()
    at = login(at, "admin", senha)
    # The confirmation does not match: the form stays.
    change_password_form(at, senha, "uma-senha-nova-forte", "outra-senha-diferente")
    assert at.title[0].value == "Troque sua senha"
    change_password_form(at, senha, "uma-senha-nova-forte")
    assert at.title[0].value == "Visão geral"
    at.sidebar.button[0].click()  # log out: the login form, without the first-access hint
    at.run()
    assert [t.label for t in at.text_input] == ["Usuário", "Senha"]
    assert not any("Primeiro acesso" in c.value or "senha_inicial" in c.value for c in at.caption)
    assert "senha_inicial" not in _texts(at)
