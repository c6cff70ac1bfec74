"""AppTest helpers: run the real dashboard.py, optionally already logged in."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.auth import create_admin
from core.db import session_scope

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
SENHA = "senha-de-teste-123"


def menu_entries() -> list[tuple[str, str, str, str]]:
    """dashboard.PAGES (path, title, icon, url path), read without running the dashboard."""
    tree = ast.parse(Path(DASHBOARD).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PAGES":
            return [tuple(entry) for entry in ast.literal_eval(node.value)]
    raise AssertionError("dashboard.py has no PAGES")


def menu_pages() -> list[str]:
    """The page paths of dashboard.PAGES, read without running the dashboard script."""
    return [entry[0] for entry in menu_entries()]


def make_admin(engine, usuario: str = "ana") -> str:
    with session_scope(engine) as session:
        create_admin(session, usuario, SENHA, nome=usuario.title())
    return usuario


def open_dashboard(timeout: float = 30) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=timeout)
    at.run()
    return at


def login(at: AppTest, usuario: str, senha: str = SENHA) -> AppTest:
    inputs = at.text_input
    inputs[0].input(usuario)
    inputs[1].input(senha)
    at.button[0].click()
    at.run()
    return at


def change_password_form(at: AppTest, atual: str, nova: str, confirmacao: str | None = None) -> AppTest:
    """Fill 'Troque sua senha' (current, new, confirmation) and submit it."""
    inputs = at.text_input
    inputs[0].input(atual)
    inputs[1].input(nova)
    inputs[2].input(nova if confirmacao is None else confirmacao)
    at.button[0].click()
    at.run()
    return at


def logged_in_dashboard(engine, usuario: str = "ana", page: str | None = None) -> AppTest:
    """The dashboard after a real login through the form; optionally switched to a page."""
    make_admin(engine, usuario)
    at = login(open_dashboard(), usuario)
    if page:
        at.switch_page(page)
        at.run()
    return at


def shown(markdown: str) -> str:
    """What a reader sees of a markdown source built with pages.ui.common.plain: AppTest
    returns the source, with its backslash escapes and invisible word joiners."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")
