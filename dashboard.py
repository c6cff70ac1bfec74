"""Curadoria's entry point: login gate, navigation and sidebar.

Nothing below the gate runs before a successful login: the only page registered for an
anonymous visitor is the login form, so no other page is reachable even by URL. The login
form is served at every URL the app has, so a shared link or a bookmark opens its page,
query string included, once the visitor has logged in. A login leaves a session cookie
(core.login_sessions, set by app.py's route), so a reload or a new tab stays logged in. The
screens live in pages/screens/ (pages/ itself holds no script, or Streamlit would route a
URL like /conversas straight to it, without this gate), and each one checks the session
again before touching data. The session is checked against the database on every run.
"""
from __future__ import annotations

import time

import streamlit as st

from core import auth
from core.config import get_settings
from core.db import session_scope, upgrade_database
from core.errors import CuradoriaError
from pages.ui.common import (
    CHANGE_PASSWORD_KEY,
    USER_KEY,
    forget_login,
    hand_cookie_to_browser,
    logged_in_user,
    oidc_configured,
    plain,
    remember_login,
    rerun_app_unless_logged_in,
    session_still_valid,
    show_error,
    when,
)

st.set_page_config(page_title="Curadoria", page_icon=":material/forum:", layout="wide")

# Screens that work, in menu order: (module path, title, icon, url path).
PAGES = [
    ("pages/screens/visao_geral.py", "Visão geral", ":material/dashboard:", "visao-geral"),
    ("pages/screens/conversas.py", "Todas as Conversas", ":material/forum:", "conversas"),
    ("pages/screens/revisar.py", "Revisar", ":material/rate_review:", "revisar"),
    ("pages/screens/analise.py", "Análise de Treinamento", ":material/insights:", "analise"),
    ("pages/screens/dados_treino.py", "Dados de treino", ":material/dataset:", "dados-treino"),
    ("pages/screens/fine_tuning.py", "Fine-tuning", ":material/model_training:", "fine-tuning"),
    ("pages/screens/historico.py", "Histórico", ":material/history:", "historico"),
    ("pages/screens/avaliacao_modelos.py", "Avaliação de modelos", ":material/fact_check:",
     "avaliacao-modelos"),
    ("pages/screens/clientes.py", "Clientes", ":material/storefront:", "clientes"),
    ("pages/screens/importacao.py", "Importação", ":material/download:", "importacao"),
]


@st.cache_resource(show_spinner=False)
def migrate_database(url: str) -> None:
    """Bring the database to the newest schema once per server process."""
    upgrade_database(url)


def ensure_first_admin() -> None:
    """On a database without administrators, create 'admin' with a one-time password."""
    with session_scope() as session:
        auth.ensure_initial_admin(session)  # yields to a process creating it at the same moment


def login_form() -> None:
    st.title("Curadoria")
    st.caption("Entre para revisar as conversas dos bots.")
    with st.form("form_login"):
        usuario = st.text_input("Usuário")
        senha = st.text_input("Senha", type="password")
        entrar = st.form_submit_button("Entrar", type="primary")
    if entrar:
        try:
            with session_scope() as session:
                remember_login(session, auth.authenticate(session, usuario, senha))
        except CuradoriaError as exc:
            time.sleep(0.5)  # slows down guessing on top of the account lock-out
            show_error(exc)
            return
        st.rerun()
    with session_scope() as session:
        primeiro_acesso = auth.first_access_pending(session)
    if primeiro_acesso:  # never a server path for an anonymous visitor
        st.caption("Primeiro acesso: use o usuário admin e a senha inicial gerada no "
                   "servidor (veja o README).")


def oidc_login() -> None:
    st.title("Curadoria")
    st.button("Entrar com a conta da empresa", type="primary", on_click=st.login)


def change_password_form() -> None:
    # In a placeholder: emptied before the rerun, so the old form does not linger (faded)
    # on screen while the next page loads.
    area = st.empty()
    with area.container():
        st.title("Troque sua senha")
        st.info("Por segurança, defina uma nova senha antes de continuar.")
        with st.form("form_trocar_senha", clear_on_submit=True):  # no password stays typed in
            atual = st.text_input("Senha atual", type="password")
            nova = st.text_input("Nova senha (mínimo 10 caracteres)", type="password")
            repetida = st.text_input("Repita a nova senha", type="password")
            salvar = st.form_submit_button("Salvar nova senha", type="primary")
        if not salvar:
            return
        if nova != repetida:
            st.error("As novas senhas não conferem.")
            return
        try:
            with session_scope() as session:
                remember_login(session, auth.change_password(session, st.session_state[USER_KEY],
                                                             atual, nova))
        except CuradoriaError as exc:
            show_error(exc)
            return
    area.empty()
    st.rerun()


@st.fragment(run_every=60)
def notifications_sidebar() -> None:
    """Unread count, the latest notifications, a toast for each new one, poller status.

    A fragment that refreshes itself every minute, so a finished job shows up (with a
    toast) without the admin clicking anything."""
    from core.poller import notify
    from core.poller.cycle import get_poller_status

    rerun_app_unless_logged_in()
    try:
        with session_scope() as session:
            unread = notify.count_unread(session)
            latest = notify.list_notifications(session, limit=10)
            poller = get_poller_status(session)
    except Exception:  # noqa: BLE001 - the sidebar never breaks the page
        return
    shown: set[int] = st.session_state.setdefault("notificacoes_vistas", set())
    first_visit = "notificacoes_inicio" not in st.session_state
    st.session_state["notificacoes_inicio"] = True
    for item in latest:
        if item.lida_em is None and item.id not in shown:
            shown.add(item.id)
            if not first_visit:
                st.toast(plain(item.titulo), icon=":material/notifications:")
    label = f"Notificações ({unread})" if unread else "Notificações"
    with st.expander(label, icon=":material/notifications:", expanded=False):
        if not latest:
            st.caption("Nenhuma notificação.")
        for item in latest:
            marca = "" if item.lida_em else "● "
            # Provider messages are shown as plain text, never as markdown.
            st.text(f"{marca}{item.titulo}\n{when(item.created_at)} — {item.mensagem}")
        if unread:
            st.button("Marcar todas como lidas", on_click=mark_all_read, key="marcar_lidas")
    if poller is None:
        st.caption("Poller: nunca visto.")
    else:
        st.caption(f"Poller visto por último às {when(poller.visto_em)}"
                   + (" (atrasado)" if poller.atrasado() else ""))


def mark_all_read() -> None:
    from core.poller import notify

    if not session_still_valid():  # a callback runs before the gate
        return
    with session_scope() as session:
        notify.mark_read(session)


def only_page(screen, title: str) -> None:
    """Show `screen` whatever the URL: at / and at every URL the app has (a bookmark of
    /conversas opens the login form, then the screen), and register nothing else."""
    urls = [url for *_, url in PAGES] + ["entrar", "trocar-senha"]
    pages = [st.Page(screen, title=title, url_path="inicio", default=True)]  # served at /
    pages += [st.Page(screen, title=title, url_path=url) for url in urls]
    st.navigation(pages, position="hidden").run()


def main() -> None:
    migrate_database(get_settings().database_url)
    usuario = logged_in_user()
    hand_cookie_to_browser()
    if usuario is None:
        if not oidc_configured():
            ensure_first_admin()
        only_page(oidc_login if oidc_configured() else login_form, "Entrar")
        return
    if st.session_state.get(CHANGE_PASSWORD_KEY):
        only_page(change_password_form, "Trocar senha")
        return
    with st.sidebar:
        st.caption(f"Conectado como **{plain(usuario)}**")
        if oidc_configured():
            st.button("Sair", on_click=st.logout, icon=":material/logout:")
        else:
            st.button("Sair", on_click=forget_login, icon=":material/logout:")
        notifications_sidebar()
    pages = [st.Page(path, title=title, icon=icon, url_path=url) for path, title, icon, url in PAGES]
    st.navigation(pages).run()


main()
