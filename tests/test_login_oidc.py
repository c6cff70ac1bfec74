"""With OpenID Connect configured (an [auth] secrets section), the login is Streamlit's
st.login and its own cookie: the dashboard's session rows and cookie are not involved."""
from __future__ import annotations

from sqlalchemy import func, select

from core.db import session_scope
from core.db.tables_sessoes import Sessao
from tests.pages_helpers import DASHBOARD, shown


def test_oidc_login_keeps_working_without_session_rows(engine):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(DASHBOARD, default_timeout=30)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback",
                          "cookie_secret": "segredo-de-teste", "client_id": "curadoria",
                          "client_secret": "x",
                          "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Entrar com a conta da empresa"]
    assert not at.text_input  # no password form

    at.user = {"is_logged_in": True, "email": "ana@empresa.com.br", "name": "Ana"}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Visão geral"
    assert any("ana@empresa.com.br" in shown(c.value) for c in at.sidebar.caption)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Sessao)) == 0
