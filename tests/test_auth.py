"""Accounts: one answer for every refused login, sessions that end with the password or the
account, a private first-password file, and passwords that resist guessing."""
from __future__ import annotations

import datetime as dt
import os
import statistics
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from core import auth
from core.auth import (
    LOGIN_REFUSED,
    authenticate,
    change_password,
    check_session,
    create_admin,
    ensure_initial_admin,
    session_stamp,
    set_password,
    validate_new_password,
)
from core.errors import AuthError, InvalidInput
from core.db.tables import Administrador
from tests.pages_helpers import SENHA, change_password_form, login, make_admin, open_dashboard, shown

NOW = dt.datetime(2026, 11, 1, 12, 0)


def _refusal(session, usuario: str, senha: str, settings=None) -> tuple[str, float]:
    started = time.perf_counter()
    with pytest.raises(AuthError) as refused:
        authenticate(session, usuario, senha, settings=settings, now=NOW)
    return str(refused.value), time.perf_counter() - started


def _lock(session, usuario: str, settings) -> None:
    for _ in range(settings.login_max_failures):
        _refusal(session, usuario, "errada-errada-1")
    admin = session.query(Administrador).filter_by(usuario=usuario).one()
    assert admin.bloqueado_ate > NOW


# --- no user enumeration ---------------------------------------------------------------------

def test_unknown_locked_and_wrong_password_get_the_same_portuguese_message(session, settings):
    create_admin(session, "bruno", SENHA)
    create_admin(session, "travado", SENHA)
    _lock(session, "travado", settings)
    mensagens = {
        _refusal(session, "ninguem", SENHA)[0],
        _refusal(session, "bruno", "senha-errada-99")[0],
        _refusal(session, "travado", SENHA)[0],  # the right password, while locked
        _refusal(session, "travado", "senha-errada-99")[0],
    }
    assert mensagens == {LOGIN_REFUSED}
    assert "bloqueado temporariamente" in LOGIN_REFUSED and "incorretos" in LOGIN_REFUSED


def test_unknown_locked_and_wrong_password_take_the_same_time(session, settings):
    create_admin(session, "bruno", SENHA)
    create_admin(session, "travado", SENHA)
    _lock(session, "travado", settings)
    paciente = settings.model_copy(update={"login_max_failures": 1000})  # bruno stays unlocked
    stored = auth.hash_password("y")
    casos = {"desconhecido": ("ninguem", SENHA), "errada": ("bruno", "errada-errada-2"),
             "bloqueado": ("travado", SENHA)}
    amostras: dict[str, list[float]] = {nome: [] for nome in [*casos, "hash"]}
    for _ in range(7):  # interleaved, so a burst of load on the machine hits every case
        for nome, (usuario, senha) in casos.items():
            amostras[nome].append(_refusal(session, usuario, senha, paciente)[1])
        started = time.perf_counter()
        auth.verify_password("x", stored)
        amostras["hash"].append(time.perf_counter() - started)
    tempos = {nome: statistics.median(valores) for nome, valores in amostras.items()}
    hash_cost = tempos.pop("hash")
    assert min(tempos.values()) > 0.5 * hash_cost, (tempos, hash_cost)  # each pays a scrypt
    assert max(tempos.values()) < 3 * min(tempos.values()), tempos


def test_an_inactive_account_cannot_log_in_even_with_its_password(session):
    create_admin(session, "ex", SENHA)
    session.execute(update(Administrador).where(Administrador.usuario == "ex").values(ativo=False))
    assert _refusal(session, "ex", SENHA)[0] == LOGIN_REFUSED


# --- sessions end with the account or the password ---------------------------------------

def test_a_session_stays_valid_until_the_password_changes_or_the_account_is_deactivated(session):
    admin = create_admin(session, "bruno", SENHA)
    stamp = session_stamp(admin)
    assert check_session(session, "bruno", stamp) is admin
    set_password(session, "bruno", "outra-senha-bem-longa")
    assert check_session(session, "bruno", stamp) is None
    novo = session_stamp(admin)
    assert check_session(session, "bruno", novo) is admin
    admin.ativo = False
    assert check_session(session, "bruno", novo) is None
    assert check_session(session, "ninguem", novo) is None
    assert check_session(session, "bruno", None) is None


def test_a_logged_in_dashboard_returns_to_the_login_form_when_the_password_changes(engine):
    from core.db import session_scope

    make_admin(engine)
    at = login(open_dashboard(), "ana", SENHA)
    assert at.title[0].value == "Visão geral"
    with session_scope(engine) as session:  # e.g. `python -m core admin set-password`
        set_password(session, "ana", "outra-senha-bem-longa")
    at.run()
    assert [t.label for t in at.text_input] == ["Usuário", "Senha"]
    assert not at.metric


def test_a_logged_in_dashboard_returns_to_the_login_form_when_the_account_is_deactivated(engine):
    make_admin(engine)
    at = login(open_dashboard(), "ana", SENHA)
    assert at.title[0].value == "Visão geral"
    with engine.begin() as conn:  # another tool, straight in the database
        conn.execute(update(Administrador).where(Administrador.usuario == "ana").values(ativo=False))
    at.run()
    assert [t.label for t in at.text_input] == ["Usuário", "Senha"]
    assert not at.metric


def test_changing_your_own_password_keeps_you_logged_in(engine, settings):
    at = open_dashboard()  # empty database: the initial admin is created
    senha = settings.initial_password_file.read_text().split("senha: ")[1].strip()
    at = login(at, "admin", senha)
    change_password_form(at, senha, "uma-senha-nova-forte")
    assert at.title[0].value == "Visão geral"
    at.run()
    assert at.title[0].value == "Visão geral"


# --- the login page tells anonymous visitors nothing about the server ----------------------

def test_the_login_page_shows_no_server_path_and_hints_the_first_access_only_while_pending(
        engine, settings):
    at = open_dashboard()  # creates 'admin' with a one-time password
    textos = " ".join(shown(c.value) for c in at.caption)
    assert "Primeiro acesso: use o usuário admin e a senha inicial gerada no servidor" in textos
    assert str(settings.initial_password_file) not in textos
    assert "senha_inicial" not in textos and "/" not in textos
    senha = settings.initial_password_file.read_text().split("senha: ")[1].strip()
    from core.db import session_scope
    with session_scope(engine) as session:
        change_password(session, "admin", senha, "uma-senha-nova-forte")
    at = open_dashboard()
    assert not any("Primeiro acesso" in c.value for c in at.caption)


# --- the first password file ------------------------------------------------------------------

def test_the_first_password_file_is_private_from_its_first_byte_whatever_the_umask(
        session, settings, monkeypatch):
    # Any chmod after writing would come too late: make it a no-op to prove none is needed.
    monkeypatch.setattr(os, "chmod", lambda *a, **k: None)
    monkeypatch.setattr(os, "fchmod", lambda *a, **k: None)
    monkeypatch.setattr(Path, "chmod", lambda *a, **k: None)
    anterior = os.umask(0)
    try:
        path = ensure_initial_admin(session, settings)
    finally:
        os.umask(anterior)
    assert path == settings.initial_password_file
    assert path.stat().st_mode & 0o777 == 0o600
    assert "senha: " in path.read_text()


def test_a_leftover_first_password_file_is_replaced_not_reused(session, settings):
    settings.initial_password_file.parent.mkdir(parents=True, exist_ok=True)
    settings.initial_password_file.write_text("senha: antiga\n")
    settings.initial_password_file.chmod(0o644)
    path = ensure_initial_admin(session, settings)
    assert "antiga" not in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600


# --- the password rule -------------------------------------------------------------------------

@pytest.mark.parametrize("senha", [
    " " * 10, " " * 40, "\t\n" * 8, "abc       def    ", "  curta  sim ",
])
def test_blank_or_mostly_blank_passwords_are_refused(senha):
    with pytest.raises(InvalidInput, match="pelo menos 10 caracteres, sem contar os espaços"):
        validate_new_password(senha)


@pytest.mark.parametrize("senha", [
    "senha12345", "1234567890", "qwertyuiop", "brasil1234", "Senha123456", "password123",
    "flamengo2026!", "QWERTY12345", "mudar123456", "iloveyou12", "1q2w3e4r5t", "0987654321",
    "palmeiras 2025", "administrador",
])
def test_the_commonest_passwords_are_refused(senha):
    with pytest.raises(InvalidInput, match="mais usadas"):
        validate_new_password(senha)


@pytest.mark.parametrize("senha", ["aaaaaaaaaaaa", "abababababab", "1212121212"])
def test_passwords_repeating_few_characters_are_refused(senha):
    with pytest.raises(InvalidInput, match="poucos caracteres"):
        validate_new_password(senha)


def test_a_password_containing_the_username_is_refused():
    with pytest.raises(InvalidInput, match="nome de usuário"):
        validate_new_password("Bruno-e-a-loja-77", "bruno")


@pytest.mark.parametrize("senha", [SENHA, "uma-senha-nova-forte", "cavalo correto bateria grampo",
                                   "Tr0ca-de-Modelo#2026"])
def test_reasonable_passwords_are_accepted(senha):
    validate_new_password(senha, "bruno")


def test_the_rule_applies_to_new_admins_password_resets_and_password_changes(session):
    with pytest.raises(InvalidInput, match="mais usadas"):
        create_admin(session, "carla", "senha12345")
    create_admin(session, "carla", SENHA)
    with pytest.raises(InvalidInput, match="nome de usuário"):
        set_password(session, "carla", "carla-2026-xyz")
    with pytest.raises(InvalidInput, match="sem contar os espaços"):
        change_password(session, "carla", SENHA, " " * 12)


def test_the_admin_commands_refuse_a_common_password_with_a_clean_message(engine, settings, capsys):
    from core.__main__ import main
    assert main(["admin", "create", "dora", "--senha", "brasil1234"]) != 0
    assert "mais usadas" in capsys.readouterr().err
    assert main(["admin", "create", "dora", "--senha", SENHA]) == 0
    assert main(["admin", "set-password", "dora", "--senha", "          "]) != 0
    assert "sem contar os espaços" in capsys.readouterr().err


def test_a_click_from_a_session_that_has_ended_changes_nothing(engine):
    from core.db import session_scope
    from core.db.tables import Conversa
    from tests.conversas_factory import add_cliente, add_conversa
    from tests.pages_helpers import logged_in_dashboard

    with session_scope(engine) as session:
        conversa_id = add_conversa(session, add_cliente(session)).id
    at = logged_in_dashboard(engine, page="pages/screens/conversas.py")
    with engine.begin() as conn:
        conn.execute(update(Administrador).where(Administrador.usuario == "ana").values(ativo=False))
    at.button(key=f"boa-{conversa_id}").click()
    at.run()  # the button's callback runs before the script and its login gate
    with session_scope(engine) as session:
        assert session.get(Conversa, conversa_id).avaliacao is None
    assert [t.label for t in at.text_input] == ["Usuário", "Senha"]
