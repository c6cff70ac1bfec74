"""A line of JavaScript run once in the admin's browser (scroll, focus), for what
Streamlit has no call for. Only fixed code from this repository, never data."""
from __future__ import annotations

import streamlit as st

_VEZES = "_scripts_enviados"


def run_once(js: str) -> None:
    """Run `js` in the page now. Each call sends a different text: the browser runs an
    html element's script again only when its text changed."""
    vez = st.session_state[_VEZES] = st.session_state.get(_VEZES, 0) + 1
    st.html(f"<script>/* {vez} */ {js}</script>", unsafe_allow_javascript=True)
