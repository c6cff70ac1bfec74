"""Small helpers shared by the screens and the dashboard (UI only: no SQL, Redis or provider
calls): who is logged in, the login check every screen starts with, and plain text."""
from __future__ import annotations

import html
import re

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core import auth
from core.clock import format_local
from core.db import session_scope

USER_KEY = "usuario"
STAMP_KEY = "sessao_senha"
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


def remember_login(admin) -> None:
    """After a successful login or password change: who, and which password it was."""
    st.session_state[USER_KEY] = admin.usuario
    st.session_state[STAMP_KEY] = auth.session_stamp(admin)
    st.session_state[CHANGE_PASSWORD_KEY] = admin.trocar_senha


def forget_login() -> None:
    for key in (USER_KEY, STAMP_KEY, CHANGE_PASSWORD_KEY):
        st.session_state.pop(key, None)


def logged_in_user() -> str | None:
    """Who is logged in, checked against the database on every run: None once the account
    is deactivated or its password changed anywhere since this session logged in."""
    if oidc_configured():
        if not st.user.is_logged_in:
            return None
        st.session_state[USER_KEY] = str(st.user.get("email") or st.user.get("name"))
        return st.session_state[USER_KEY]
    usuario = st.session_state.get(USER_KEY)
    if not usuario:
        return None
    with session_scope() as session:
        admin = auth.check_session(session, usuario, st.session_state.get(STAMP_KEY))
        if admin is None:
            forget_login()
            return None
        st.session_state[CHANGE_PASSWORD_KEY] = admin.trocar_senha
    return usuario


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
