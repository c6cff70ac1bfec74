"""The banner shown when a cliente's model is about to be shut down by its provider."""
from __future__ import annotations

import streamlit as st

from core.db import session_scope
from core.finetune.sunset import shutdown_warnings, warning_text
from pages.ui.common import plain


def render_shutdown_banner() -> None:
    """One warning per cliente whose model shuts down within the warning window."""
    with session_scope() as session:
        avisos = shutdown_warnings(session)
    for status in avisos:
        st.warning(plain(warning_text(status)), icon=":material/power_off:")
