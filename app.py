"""The dashboard's server: `streamlit run app.py` serves dashboard.py plus two small routes
that hold the login cookie, which a Streamlit script cannot set (it is HttpOnly).

- POST /_curadoria/sessao, body = the one-time entry ticket the page got after a login:
  sets the signed, expiring, HttpOnly session cookie (core.login_sessions).
- POST /_curadoria/sair: ends the session the cookie names and deletes the cookie.

Both refuse a request from another site (its Origin must be this server), so no other
page can log a browser in or out.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from streamlit.runtime.pages_manager import PagesManager

from core import login_sessions
from core.config import get_settings
from core.db import session_scope

# Streamlit runs an app's first request through its legacy "pages/ directory" mode when a
# pages/ folder sits next to the main script (ours holds the screens, not page scripts):
# that run does not know /conversas and shows "Page not found" over the login form. The
# app always declares its pages with st.navigation, so the legacy mode is off from start.
PagesManager.uses_pages_directory = False


def _route_prefix() -> str:
    """Under server.baseUrlPath like every Streamlit route (pages/ui/login_cookie.py agrees)."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/_curadoria" if base else "/_curadoria"


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # browsers send Origin on every cross-site POST
        return request.headers.get("sec-fetch-site", "same-origin") == "same-origin"
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _secure(request: Request) -> bool:
    mode = get_settings().sessao_cookie_seguro
    if mode != "auto":
        return mode == "sim"
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _answer(status: int) -> Response:
    return Response(status_code=status, headers={"Cache-Control": "no-store"})


def _exchange(ticket: str) -> tuple[str, int] | None:
    with session_scope() as session:
        return login_sessions.exchange_ticket(session, ticket)


def _revoke(cookie: str | None) -> None:
    with session_scope() as session:
        login_sessions.revoke_cookie(session, cookie)


async def open_session(request: Request) -> Response:
    if not _same_origin(request):
        return _answer(403)
    ticket = (await request.body())[:200].decode("ascii", "ignore").strip()
    result = await run_in_threadpool(_exchange, ticket)
    if result is None:
        return _answer(403)
    value, lifetime = result
    response = _answer(204)
    response.set_cookie(login_sessions.COOKIE_NAME, value, max_age=lifetime, path="/",
                        httponly=True, samesite="lax", secure=_secure(request))
    return response


async def close_session(request: Request) -> Response:
    if not _same_origin(request):
        return _answer(403)
    await run_in_threadpool(_revoke, request.cookies.get(login_sessions.COOKIE_NAME))
    response = _answer(204)
    response.delete_cookie(login_sessions.COOKIE_NAME, path="/", httponly=True, samesite="lax",
                           secure=_secure(request))
    return response


app = st.App("dashboard.py", routes=[
    Route(f"{_route_prefix()}/sessao", open_session, methods=["POST"]),
    Route(f"{_route_prefix()}/sair", close_session, methods=["POST"]),
])
