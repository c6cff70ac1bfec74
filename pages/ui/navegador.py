"""A line of JavaScript run once in the admin's browser (scroll, focus), for what
Streamlit has no call for. Only fixed code from this repository, never data."""
from __future__ import annotations

import secrets

import streamlit as st


def run_once(js: str) -> None:
    """Run `js` in the page now, and never again: the browser runs an html element's script
    each time it mounts the element (again when a rerun redraws its surroundings), so each
    call carries a fresh token the page remembers."""
    token = secrets.token_hex(8)
    st.html("<script>(() => { const feitos = (window.__curadoriaScripts ??= new Set());"
            f" if (feitos.has('{token}')) return; feitos.add('{token}'); {js} }})();</script>",
            unsafe_allow_javascript=True)
