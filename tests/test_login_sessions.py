"""Login sessions (core.login_sessions) on both databases: one-time tickets, signed cookies,
hashed tokens, idle and absolute expiry, revocation by "Sair" and by a password change."""
from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select, text, update

from core import login_sessions as ls
from core.auth import create_admin, hash_password, set_password
from core.clock import utcnow
from core.db.tables import Administrador
from core.db.tables_sessoes import Sessao

SENHA = "senha-de-teste-123"


def logged_in(session, settings, usuario: str = "ana") -> tuple[int, str]:
    """A session whose ticket was exchanged: (session id, cookie value)."""
    admin = create_admin(session, usuario, SENHA)
    opened = ls.open_session(session, admin)
    value, _ = ls.exchange_ticket(session, opened.ticket, settings=settings)
    return opened.sessao_id, value


def test_a_ticket_becomes_a_signed_cookie_once_and_only_hashes_are_stored(session, settings):
    admin = create_admin(session, "ana", SENHA)
    opened = ls.open_session(session, admin)
    value, lifetime = ls.exchange_ticket(session, opened.ticket, settings=settings)
    assert 29 * 86400 < lifetime <= 30 * 86400
    assert ls.exchange_ticket(session, opened.ticket, settings=settings) is None  # used
    sessao_id, found = ls.check_cookie(session, value, settings)
    assert (sessao_id, found.usuario) == (opened.sessao_id, "ana")
    token = value.split(".")[0]
    row = session.get(Sessao, opened.sessao_id)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.entrada_hash is None
    dump = " ".join(str(v) for v in session.execute(text("SELECT * FROM sessoes")).one())
    assert token not in dump and opened.ticket not in dump


def test_an_old_or_unknown_ticket_gives_no_cookie(session, settings):
    admin = create_admin(session, "ana", SENHA)
    opened = ls.open_session(session, admin, now=utcnow() - dt.timedelta(minutes=5))
    assert ls.exchange_ticket(session, opened.ticket, settings=settings) is None
    assert ls.exchange_ticket(session, "inventado", settings=settings) is None
    assert ls.exchange_ticket(session, "", settings=settings) is None


def test_forged_cookies_are_refused(session, settings):
    _, value = logged_in(session, settings)
    token, signature = value.split(".")
    for forged in ("", "abc", "abc.def", f"{token}.{'0' * 32}", f"{token}x.{signature}",
                   ls.cookie_value("x" * 43, settings), value + ".x", "a" * 500):
        assert ls.check_cookie(session, forged, settings) is None, forged
    assert ls.check_cookie(session, value, settings) is not None


def test_a_session_ends_when_idle_and_after_thirty_days(session, settings, monkeypatch):
    sessao_id, value = logged_in(session, settings)
    now = utcnow()
    assert ls.check_cookie(session, value, settings, now=now + dt.timedelta(hours=11))
    session.execute(update(Sessao).values(ultimo_uso_em=now))
    assert ls.check_cookie(session, value, settings, now=now + dt.timedelta(hours=12, seconds=1)) is None
    monkeypatch.setenv("CURADORIA_SESSAO_INATIVA_HORAS", "2")
    from core import config as config_module
    config_module.reset_settings()
    curto = config_module.get_settings()
    assert ls.check_session_id(session, sessao_id, curto, now=now + dt.timedelta(hours=3)) is None
    session.execute(update(Sessao).values(ultimo_uso_em=now + dt.timedelta(days=30)))
    assert ls.check_session_id(session, sessao_id, settings,
                               now=now + dt.timedelta(days=30, minutes=1)) is None


def test_use_keeps_a_session_alive(session, settings):
    sessao_id, value = logged_in(session, settings)
    now = utcnow()
    for hours in (10, 20, 30):
        assert ls.check_cookie(session, value, settings, now=now + dt.timedelta(hours=hours))
    assert session.get(Sessao, sessao_id).ultimo_uso_em == now + dt.timedelta(hours=30)


def test_sair_and_a_password_change_end_sessions(session, settings):
    sessao_id, value = logged_in(session, settings)
    outra_id, outro_valor = logged_in(session, settings, "bia")
    ls.revoke(session, sessao_id)
    assert ls.check_cookie(session, value, settings) is None
    assert ls.check_session_id(session, sessao_id, settings) is None
    assert ls.check_cookie(session, outro_valor, settings) is not None  # only that one
    set_password(session, "bia", "outra-senha-forte-987")
    assert ls.check_session_id(session, outra_id, settings) is None


def test_a_password_changed_in_sql_or_a_deactivated_account_ends_the_session(session, settings):
    sessao_id, _ = logged_in(session, settings)
    session.execute(update(Administrador).values(senha_hash=hash_password("trocada-no-sql-1")))
    assert ls.check_session_id(session, sessao_id, settings) is None
    outra_id, _ = logged_in(session, settings, "bia")
    session.execute(update(Administrador).where(Administrador.usuario == "bia").values(ativo=False))
    assert ls.check_session_id(session, outra_id, settings) is None


def test_the_signing_key_is_private_and_shared_by_every_process(settings):
    key = ls.signing_key(settings)
    path = settings.initial_password_file.parent / "sessao_segredo.key"
    assert path.stat().st_mode & 0o077 == 0 and len(key) == 64
    assert ls.signing_key(settings) == key
    assert ls.cookie_value("abc", settings) == ls.cookie_value("abc", settings)


def test_revoke_all_counts_the_open_sessions(session, settings):
    logged_in(session, settings)
    admin = session.scalar(select(Administrador))
    ls.open_session(session, admin)
    assert ls.revoke_all(session, admin.id) == 2
    assert ls.revoke_all(session, admin.id) == 0


def test_sessions_that_can_never_be_used_again_are_forgotten(session, settings):
    admin = create_admin(session, "ana", SENHA)
    old = utcnow() - dt.timedelta(days=40)
    expirada = ls.open_session(session, admin, now=old).sessao_id
    nunca_trocada = ls.open_session(session, admin, now=utcnow() - dt.timedelta(days=2)).sessao_id
    revogada_ontem = ls.open_session(session, admin).sessao_id
    ls.revoke(session, revogada_ontem, now=utcnow() - dt.timedelta(days=1))
    ls.open_session(session, admin)
    restantes = set(session.scalars(select(Sessao.id)))
    assert expirada not in restantes and nunca_trocada not in restantes
    assert revogada_ontem in restantes and len(restantes) == 2
    # ids are never reused: a tab still holding a forgotten session's id gets no one's
    assert max(restantes) > max(expirada, nunca_trocada, revogada_ontem)
    assert len({expirada, nunca_trocada, revogada_ontem}) == 3
