"""A walk through every page in a real browser at 1366 and 1920 px wide, on demo data: no
button label or model id cut off, no table wider than the page, no warning in the server
log; a screenshot of each page is kept in test-artifacts/ (ignored by git) for a person to
look at."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.auth import create_admin
from core.db import get_engine, session_scope, upgrade_database
from tests.browser_helpers import (  # noqa: F401  (fixtures)
    SENHA,
    USUARIO,
    StreamlitApp,
    browser_type_launch_args,
    login,
    running_dashboard,
    wait_idle,
)
from tests.pages_helpers import menu_entries

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "walk"
# What a clean server log may not contain (Streamlit's deprecations are logged as warnings).
_BAD_LOG = re.compile(r"warning|deprecat|traceback|error", re.IGNORECASE)

# Every visible button (and link-button, download, form submit, tab) whose label does not fit,
# and every code block (model ids) that would need a scroll bar.
_CUT_OFF = """() => {
  const out = [];
  const sel = "button, a[data-testid^='stBaseLinkButton'], [role='tab'], [data-testid='stCode'] pre";
  for (const el of document.querySelectorAll(sel)) {
    if (!el.offsetParent) continue;
    for (const node of [el, ...el.querySelectorAll('*')]) {
      if (node.scrollWidth > node.clientWidth + 1 && getComputedStyle(node).overflowX !== 'visible'
          || getComputedStyle(node).textOverflow === 'ellipsis' && node.scrollWidth > node.clientWidth + 1) {
        out.push((el.innerText || el.getAttribute('aria-label') || '').trim());
        break;
      }
    }
  }
  return out;
}"""


def _settle(page) -> None:
    """Until the run has finished and stayed finished (the running indicator shows up a
    moment after a click), and charts and tables have drawn."""
    for _ in range(3):
        wait_idle(page, timeout=60_000)
        page.wait_for_timeout(700)


# Every table wider than its place on the page (its last columns scroll out of sight).
_WIDE_TABLES = """() => {
  const out = [];
  for (const table of document.querySelectorAll("[data-testid='stDataFrame']")) {
    if (!table.offsetParent) continue;
    const scroller = table.querySelector('.dvn-scroller');
    if (scroller && scroller.scrollWidth > scroller.clientWidth + 1) {
      const header = table.querySelector('[role="columnheader"]');
      out.push((header ? header.innerText : '?') + ' (' + scroller.scrollWidth + ' > ' + scroller.clientWidth + ' px)');
    }
  }
  return out;
}"""


def _past_imports(engine) -> None:
    """What Importação shows after real imports (the demo has none): an own Redis URL, a
    finished run with big counts and an error, a rejected entry with a long key and excerpt."""
    from core.clock import utcnow
    from core.db.tables import Cliente, EntradaRejeitada, Importacao

    with session_scope(engine) as session:
        for i, cliente in enumerate(session.query(Cliente).order_by(Cliente.id)):
            if i == 0:
                cliente.redis_url = "redis://:segredo@redis-producao-bots.interno.exemplo.com.br:6379/3"
                cliente.redis_prefix = "bots-producao:"
            run = Importacao(cliente_id=cliente.id, origem="walk", concluida_em=utcnow(),
                             lidas=123_456, mensagens_novas=12_345, conversas_novas=1_234,
                             conversas_estendidas=321, duplicadas=98_765, expiradas=4_321,
                             rejeitadas=2, rejeitadas_por_motivo='{"json_invalido": 2}',
                             erro="Importação interrompida: o Redis parou de responder.")
            session.add(run)
            session.flush()
            session.add(EntradaRejeitada(
                cliente_id=cliente.id, importacao_id=run.id,
                redis_key=f"farmacia-vida-mais:conversation:5511987654321:{1_764_000_000_000 + i}",
                motivo="json_invalido", trecho=("{\"role\": \"user\", \"content\": " + "x" * 300)[:300]))


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    from core.demo import generate as demo
    from core.review.analysis import analyze_pending

    tmp = tmp_path_factory.mktemp("walk")
    db_url = f"sqlite:///{tmp / 'curadoria.db'}"
    upgrade_database(db_url)
    engine = get_engine(db_url)
    with session_scope(engine) as session:
        create_admin(session, USUARIO, SENHA, nome="Ana")
    anchor = demo.default_anchor()
    demo.load_database(engine, demo.generate_conversations(400, seed=7, anchor=anchor), anchor)
    analyze_pending(engine)
    _past_imports(engine)
    log = tmp / "streamlit.log"
    env = {"DATABASE_URL": db_url, "CURADORIA_INITIAL_PASSWORD_FILE": str(tmp / "senha_inicial.txt")}
    with running_dashboard(env, log) as url:
        yield StreamlitApp(url=url, engine=engine), log


@pytest.mark.parametrize("largura", [1366, 1920])
def test_every_page_at_1366_and_1920_px_has_no_cut_off_button_nor_wide_table_and_the_log_no_warning(page, demo_server, largura):
    app, log = demo_server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": largura, "height": 900})
    login(page, app)
    cortados, largas = {}, []
    for _, title, _, path in menu_entries():
        page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
        _settle(page)
        found = page.evaluate(_CUT_OFF)
        largas += [f"{title}: {t}" for t in page.evaluate(_WIDE_TABLES)]
        # The main area scrolls inside the page: a viewport as tall as it shows all of it.
        altura = page.evaluate("() => document.querySelector(\"[data-testid='stMain']\").scrollHeight")
        page.set_viewport_size({"width": largura, "height": min(max(altura, 900), 8000)})
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / f"{path}-{largura}.png"))
        page.set_viewport_size({"width": largura, "height": 900})
        if found:
            cortados[title] = found
        exceptions = page.get_by_test_id("stException")
        assert exceptions.count() == 0, f"{title}: {exceptions.first.inner_text()}"
    # Tables wider than the page (their last columns scroll out of sight): listed for a
    # person to look at, and a failure.
    (ARTIFACTS / f"tabelas-largas-{largura}.txt").write_text("\n".join(largas) + "\n", encoding="utf-8")
    assert cortados == {}
    assert largas == []
    ruins = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
             if _BAD_LOG.search(line)]
    assert ruins == []


def test_a_rejected_entry_chosen_in_its_table_shows_its_key_and_excerpt_in_full(page, demo_server):
    app, _ = demo_server
    page.set_viewport_size({"width": 1366, "height": 900})
    login(page, app)
    page.get_by_test_id("stSidebarNav").get_by_text("Importação", exact=True).click()
    page.get_by_role("heading", name="Entradas rejeitadas").wait_for(timeout=60_000)
    _settle(page)
    tabela = page.get_by_test_id("stDataFrame").last
    tabela.scroll_into_view_if_needed()
    caixa = tabela.bounding_box()
    page.mouse.click(caixa["x"] + 16, caixa["y"] + 35 + 17)  # the first row's selection box
    codigo = page.get_by_test_id("stCode")
    codigo.nth(1).wait_for(timeout=30_000)
    assert ":conversation:5511987654321:" in codigo.nth(0).inner_text()
    assert codigo.nth(1).inner_text().startswith('{"role": "user"')
    assert page.evaluate(_CUT_OFF) == []
