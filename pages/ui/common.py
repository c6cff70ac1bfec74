"""Small helpers shared by the screens and the dashboard (UI only: no SQL, Redis or provider
calls): who is logged in, the login check every screen starts with, and plain text."""
from __future__ import annotations

import html
import re

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core import login_sessions
from core.clock import format_local
from core.db import session_scope
from pages.ui import login_cookie

USER_KEY = "usuario"
SESSION_KEY = "sessao_id"  # the row in `sessoes` this tab is logged in with
TICKET_KEY = "sessao_entrada"  # one-time ticket, until the page trades it for the cookie
LOGOUT_KEY = "sessao_sair"  # the page still has to delete the cookie
CHANGE_PASSWORD_KEY = "trocar_senha"

# Every ASCII character markdown (CommonMark, GFM, Streamlit's LaTeX and directives) may
# give a meaning to; a backslash makes each one literal.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$&^=:@])")
# Even escaped, Streamlit still turns ":material/x:" into an icon and bare URLs and e-mails
# into links: an invisible word joiner inside those patterns breaks them and changes
# nothing the reader sees.
_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)www(?=\.)|:(?=//|material/)|@")


def plain(value: object) -> str:
    """Text from the database or the URL, made safe for any Streamlit element that renders
    markdown (st.markdown, captions, alerts, headers, toasts, button labels, help): shown
    exactly as written, never as formatting, links, icons, colours or LaTeX."""
    text = _AUTOLINK.sub(lambda m: m.group(0) + _JOINER, str(value))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def chart_text(value: object) -> str:
    """A label for a plotly chart (legend, axis, hover): plotly reads a subset of HTML in
    labels (<a href>, <b>, <br>), so a name from the database is entity-escaped."""
    return html.escape(str(value), quote=False)


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def remember_login(session, admin) -> None:
    """After a successful login or password change: a new session row for this tab, and
    its one-time ticket for the page, which trades it for the HttpOnly cookie
    (hand_cookie_to_browser) so a reload or a new tab stays logged in."""
    opened = login_sessions.open_session(session, admin)
    st.session_state[USER_KEY] = admin.usuario
    st.session_state[SESSION_KEY] = opened.sessao_id
    st.session_state[TICKET_KEY] = opened.ticket
    st.session_state[CHANGE_PASSWORD_KEY] = admin.trocar_senha


def _forget_state() -> None:
    for key in (USER_KEY, SESSION_KEY, TICKET_KEY, CHANGE_PASSWORD_KEY):
        st.session_state.pop(key, None)


def forget_login() -> None:
    """"Sair": the session ends for every tab and reload that holds it; the page then
    asks the server to delete the cookie."""
    sessao_id = st.session_state.get(SESSION_KEY)
    if sessao_id:
        with session_scope() as session:
            login_sessions.revoke(session, sessao_id)
    _forget_state()
    st.session_state[LOGOUT_KEY] = True


def hand_cookie_to_browser() -> None:
    """Once per login or logout, in the page: set or delete the session cookie."""
    ticket = st.session_state.pop(TICKET_KEY, None)
    if ticket:
        login_cookie.send_ticket(ticket)
    if st.session_state.pop(LOGOUT_KEY, None):
        login_cookie.clear_cookie()


def _cookie() -> str | None:
    try:
        return st.context.cookies.get(login_sessions.COOKIE_NAME)
    except Exception:  # noqa: BLE001 - no browser request (AppTest, bare mode): no cookie
        return None


def logged_in_user() -> str | None:
    """Who is logged in, checked against the database on every run: the session this tab
    holds, or else the one the browser's cookie names (a reload, a new tab, a link). None
    once that session was ended ("Sair" anywhere, a password change, idle too long) or
    its account deactivated."""
    if oidc_configured():
        if not st.user.is_logged_in:
            return None
        st.session_state[USER_KEY] = str(st.user.get("email") or st.user.get("name"))
        return st.session_state[USER_KEY]
    with session_scope() as session:
        admin = login_sessions.check_session_id(session, st.session_state.get(SESSION_KEY))
        if admin is None:
            found = login_sessions.check_cookie(session, _cookie())
            if found is None:
                _forget_state()
                return None
            st.session_state[SESSION_KEY], admin = found
        st.session_state[USER_KEY] = admin.usuario
        st.session_state[CHANGE_PASSWORD_KEY] = admin.trocar_senha
        return admin.usuario


def require_login() -> str:
    """The first call of every screen: the logged-in admin, or the script stops here.

    dashboard.py only routes to a screen after login; this is the screen's own check, so
    no screen touches data even if Streamlit ever runs it some other way."""
    usuario = logged_in_user()
    if usuario is None or st.session_state.get(CHANGE_PASSWORD_KEY):
        st.warning("Entre no Curadoria para ver esta página.", icon=":material/lock:")
        st.stop()
    return usuario


def session_still_valid() -> bool:
    """For widget callbacks and fragments, which run without dashboard.py's gate: False
    once the session has ended (then a callback must not act)."""
    return logged_in_user() is not None and not st.session_state.get(CHANGE_PASSWORD_KEY)


def rerun_app_unless_logged_in() -> None:
    """The first call of a fragment: on an ended session, a fragment-only rerun becomes a
    rerun of the whole app, whose gate shows the login form (a fragment alone would keep
    refreshing data); in any other run the fragment just stops."""
    if session_still_valid():
        return
    ctx = get_script_run_ctx()
    if ctx is not None and ctx.fragment_ids_this_run:
        st.rerun(scope="app")
    st.stop()


def current_user() -> str:
    """The logged-in admin's identity, as recorded in avaliado_por."""
    return st.session_state.get(USER_KEY) or "admin"


def when(value) -> str:
    """A database timestamp in the admin's time zone, or a dash."""
    return format_local(value) if value else "—"


def numero(n: int) -> str:
    """12345 -> '12.345' (pt-BR thousands separator)."""
    return f"{n:,}".replace(",", ".")


def show_error(exc: Exception | str) -> None:
    """A domain error's message (it may quote a cliente, a model or a provider) as text."""
    st.error(plain(exc), icon=":material/error:")


def show_checks(report, passed: str) -> None:
    """A file's validation: `passed` when it holds, then each error and each warning."""
    if report.ok:
        st.success(passed, icon=":material/check_circle:")
    for erro in report.erros:
        st.error(plain(erro), icon=":material/error:")
    for aviso in report.avisos:
        st.warning(plain(aviso), icon=":material/warning:")
