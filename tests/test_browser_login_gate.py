"""No screen without login, whatever the URL and whatever the server saw before.

Real chromium against freshly started `streamlit run app.py` servers. Every URL
path the app has, every file name pages/ had before and has now (Streamlit once routed
`/conversas` straight to `pages/conversas.py`, skipping the gate, when that was the first
request a new server got), with and without a query string: each one, in a fresh browser
context, shows the login form and none of the seeded data, both as the very first request
of a new server and after `/` has been loaded.
"""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from core.auth import create_admin
from core.db import get_engine, session_scope, upgrade_database
from tests.browser_helpers import (  # noqa: F401  (the launch args select Debian's chromium)
    APP,
    FreshDashboards,
    browser_type_launch_args,
)
from tests.conversas_factory import add_cliente, add_conversa
from tests.pages_helpers import menu_entries

pytestmark = pytest.mark.browser

CLIENTE = "Padaria Zebra Confidencial"
SEGREDOS = (CLIENTE, "zebra-confidencial", "mensagem-sigilosa-7391", "resposta-sigilosa-8462")
# Every url path of dashboard.PAGES (read from the file, so a new screen is covered too),
# plus the login and password pages.
URL_PATHS = ["", *(entry[3] for entry in menu_entries()), "entrar", "trocar-senha"]
# What pages/ held before the screens moved into pages/screens/, what it holds now, and the
# login page's own internal path.
FILE_NAMES = [*(Path(entry[0]).stem for entry in menu_entries()),
              "visao_geral", "dados_treino", "fine_tuning", "_common", "common", "dashboard",
              "progresso", "_components", "components", "screens", "screens/conversas",
              "screens/visao_geral", "ui", "ui/common", "pages", "pages/conversas", "__init__",
              "inicio"]
QUERY = "?conversa=1&cliente=zebra-confidencial&pagina=1"
TARGETS = [p + q for p in dict.fromkeys(URL_PATHS + FILE_NAMES) for q in ("", QUERY)]
SCREEN_TITLES = ("Visão geral", "Todas as Conversas", "Revisar", "Análise de Treinamento", "Dados de treino",
                 "Fine-tuning", "Histórico", "Avaliação de modelos", "Clientes", "Importação",
                 "Troque sua senha")
BATCH = 8
WAIT_SECONDS = 25  # for a whole batch of pages opened together


@pytest.fixture(scope="module")
def dashboards(tmp_path_factory):
    """A database with an admin and a cliente's conversas; fresh servers on demand."""
    tmp: Path = tmp_path_factory.mktemp("gate")
    db_url = f"sqlite:///{tmp / 'curadoria.db'}"
    upgrade_database(db_url)
    with session_scope(get_engine(db_url)) as session:
        create_admin(session, "ana", "senha-de-teste-123", nome="Ana")
        cliente = add_cliente(session, slug="zebra-confidencial", nome=CLIENTE)
        for h in range(3):
            add_conversa(session, cliente, ["mensagem-sigilosa-7391", "resposta-sigilosa-8462"],
                         inicio=dt.datetime(2026, 11, 10, 9 + h))
    fresh = FreshDashboards({"DATABASE_URL": db_url,
                             "CURADORIA_INITIAL_PASSWORD_FILE": str(tmp / "senha_inicial.txt")},
                            tmp)
    yield fresh
    fresh.close()


def nested(url: str) -> bool:
    """A path of two or more segments never loads the app (its scripts resolve under it)."""
    return "/" in urlsplit(url).path.strip("/")


def wait_for_login_form(page, url: str, deadline: float) -> str | None:
    """None once the login form is up and the run is over; else what went wrong."""
    def remaining() -> float:
        return max(1_000, (deadline - time.monotonic()) * 1000)

    try:
        if nested(url):
            page.wait_for_load_state("load", timeout=remaining())
            return None
        page.get_by_label("Usuário").wait_for(timeout=remaining())
        page.get_by_label("Senha").wait_for(timeout=remaining())
        page.wait_for_function(
            "() => !document.querySelector(\"[data-testid='stStatusWidget']\")", timeout=remaining())
    except Exception as exc:  # noqa: BLE001 - reported with the other problems of the page
        return f"no login form ({type(exc).__name__})"
    return None


def problems_on(page, url: str, modal_allowed: bool) -> list[str]:
    """What the page opened at `url` shows that an anonymous visitor must not see."""
    if nested(url) and not page.locator(APP).count():
        return [f"shows {s!r}" for s in SEGREDOS if s.lower() in page.content().lower()]
    texto = page.locator("body").inner_text().lower()
    problems = [f"shows {s!r}" for s in SEGREDOS if s.lower() in texto]
    titulos = page.locator("h1, h2, h3").all_inner_texts()
    problems += [f"heading {t!r}" for t in titulos if t.strip() in SCREEN_TITLES]
    for testid in ("stSidebarNav", "stMetric", "stDataFrame", "stSelectbox"):
        if page.get_by_test_id(testid).count():
            problems.append(f"has {testid}")
    known = urlsplit(url).path.strip("/") in URL_PATHS
    if known and not modal_allowed and page.get_by_role("dialog").count():
        problems.append("a dialog covers the login form")  # Streamlit's "page not found"
    return problems


def visit_all(browser, urls: list[str], modal_allowed: bool = False) -> dict[str, list[str]]:
    """Open each URL in its own fresh context, all at once, then check each one."""
    contexts, pages = [], []
    for url in urls:
        context = browser.new_context()
        page = context.new_page()
        page.goto(url, wait_until="commit")
        contexts.append(context)
        pages.append(page)
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        waited = [wait_for_login_form(page, url, deadline) for url, page in zip(urls, pages)]
        pages[0].wait_for_timeout(1_000)  # anything a late rerun would still add
        return {url: ([w] if w else []) + problems_on(page, url, modal_allowed)
                for url, page, w in zip(urls, pages, waited)}
    finally:
        for context in contexts:
            context.close()


def test_every_url_as_the_first_request_of_a_new_server_shows_only_the_login_form(browser, dashboards):
    problemas: dict[str, list[str]] = {}
    for start in range(0, len(TARGETS), BATCH):
        servers = []
        for target in TARGETS[start:start + BATCH]:
            url, pid = dashboards.start()
            servers.append((target, url, pid))
        for _, url, _ in servers:
            dashboards.wait_healthy(url)
        # No "page not found" box for a page that exists, even on a new server's first
        # request (app.py turns Streamlit's legacy pages/ handling off).
        result = visit_all(browser, [f"{url}/{target}" for target, url, _ in servers])
        for (target, url, pid) in servers:
            problemas[f"/{target}"] = result[f"{url}/{target}"]
            dashboards.stop(pid)
    falhas = {k: v for k, v in problemas.items() if v}
    assert not falhas, f"{len(falhas)} of {len(problemas)} first requests went wrong: {falhas}"


def test_every_url_after_the_home_was_loaded_shows_only_the_login_form(browser, dashboards):
    url, pid = dashboards.start()
    dashboards.wait_healthy(url)
    assert visit_all(browser, [url]) == {url: []}
    problemas: dict[str, list[str]] = {}
    for start in range(0, len(TARGETS), BATCH):
        batch = [f"{url}/{t}" for t in TARGETS[start:start + BATCH]]
        problemas.update(visit_all(browser, batch))
    dashboards.stop(pid)
    falhas = {k.removeprefix(url): v for k, v in problemas.items() if v}
    assert not falhas, f"{len(falhas)} of {len(problemas)} requests went wrong: {falhas}"


def log_in(page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Usuário").fill("ana")
    page.get_by_label("Senha").fill("senha-de-teste-123")
    page.get_by_role("button", name="Entrar").click()
    page.get_by_text("Conectado como").wait_for(timeout=30_000)


def test_after_login_the_sidebar_lists_only_the_apps_own_screens_and_a_bookmark_opens(
        browser, dashboards):
    url, pid = dashboards.start()
    dashboards.wait_healthy(url)
    try:
        for path, titulo in (("", "Visão geral"),
                             ("conversas?cliente=zebra-confidencial", "Todas as Conversas")):
            context = browser.new_context()
            page = context.new_page()
            log_in(page, f"{url}/{path}")
            page.get_by_role("heading", name=titulo).wait_for(timeout=30_000)
            nav = page.get_by_test_id("stSidebarNav").get_by_role("link").all_inner_texts()
            # each link reads "<icon ligature>\n\n<title>"
            assert [t.strip().splitlines()[-1] for t in nav] == [entry[1] for entry in menu_entries()]
            context.close()
    finally:
        dashboards.stop(pid)
