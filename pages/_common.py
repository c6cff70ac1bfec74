"""Small helpers shared by the pages (UI only: no SQL, Redis or provider calls)."""
from __future__ import annotations

import streamlit as st

from core.clock import format_local

USER_KEY = "usuario"


def current_user() -> str:
    """The logged-in admin's identity, as recorded in avaliado_por."""
    return st.session_state.get(USER_KEY) or "admin"


def when(value) -> str:
    """A database timestamp in the admin's time zone, or a dash."""
    return format_local(value) if value else "—"


def numero(n: int) -> str:
    """12345 -> '12.345' (pt-BR thousands separator)."""
    return f"{n:,}".replace(",", ".")


def show_error(exc: Exception) -> None:
    st.error(str(exc), icon=":material/error:")


def require_login() -> str:
    """The logged-in admin, or stop the screen (dashboard.py's gate registers screens only
    after login; a screen checks the session itself too)."""
    usuario = st.session_state.get(USER_KEY)
    if not usuario:
        st.error("Entre no painel para ver esta tela.", icon=":material/lock:")
        st.stop()
    return usuario
