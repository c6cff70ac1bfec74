"""The page's half of the login cookie: a Streamlit script cannot set an HttpOnly cookie,
so after a login the page posts its one-time ticket to the server's own route (app.py),
whose answer sets the cookie; after "Sair" it asks the server to delete it."""
from __future__ import annotations

import json

import streamlit as st


def route_url(name: str) -> str:
    """The route's path, under server.baseUrlPath like app.py registers it."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/_curadoria/{name}" if base else f"/_curadoria/{name}"


def _post(name: str, body: str = "") -> None:
    # The ticket is URL-safe base64; json.dumps makes any value a JavaScript string literal
    # (and "</" can never close the script).
    url = json.dumps(route_url(name)).replace("</", "<\\/")
    payload = json.dumps(body).replace("</", "<\\/")
    st.html(
        f"<script>fetch({url}, {{method: 'POST', body: {payload}, credentials: 'same-origin',"
        " headers: {'Content-Type': 'text/plain'}, keepalive: true});</script>",
        unsafe_allow_javascript=True, width=1)


def send_ticket(ticket: str) -> None:
    """Exchange the ticket for the session cookie (once, right after the login)."""
    _post("sessao", ticket)


def clear_cookie() -> None:
    """End the cookie's session on the server and delete the cookie ("Sair")."""
    _post("sair")
