"""Review queue: time from a key press to the next conversa, in a real browser.

Builds a fresh SQLite database with the demo data (`core demo`, default 2,000 conversas)
and its analysis, starts `streamlit run dashboard.py` on a free port, logs in as `bench`,
opens Revisar and rates conversas with the keyboard ("1" boa / "2" ruim, alternating).
For each key it measures, from just before the key is sent:

- next: until the heading shows the next conversa (the admin can read it);
- complete: until the whole screen shows it: its reason field (the next key can be
  pressed) and its last message.

    .venv/bin/python bench/revisar_browser.py --teclas 40
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from core.auth import create_admin  # noqa: E402
from sqlalchemy import select  # noqa: E402

from core.db import get_engine, session_scope, upgrade_database  # noqa: E402
from core.db.tables import Mensagem  # noqa: E402
from core.demo.generate import default_anchor, generate_conversations, load_database  # noqa: E402
from core.review.analysis import analyze_pending  # noqa: E402
from tests.browser_helpers import APP, CHROMIUM, free_port, wait_until_healthy  # noqa: E402

SENHA = "senha-da-fila-123"
HEADING = "h3:has-text('Conversa #')"
NEXT_JS = """([old]) => {
    const all = [...document.querySelectorAll('h3')].map(e => e.innerText);
    return all.some(t => t.startsWith('Conversa #') && t !== old);
}"""
LAST_JS = """([text]) => {
    const box = document.querySelector('.st-key-rv-mensagens');
    return !!box && box.innerText.includes(text);
}"""


def last_message(engine, conversa_id: int) -> str:
    with session_scope(engine) as session:
        texto = session.scalars(select(Mensagem.conteudo).where(Mensagem.conversa_id == conversa_id)
                                .order_by(Mensagem.enviada_em.desc(), Mensagem.id.desc())).first()
    return (texto or "").strip().splitlines()[-1] if texto and texto.strip() else ""


def build_database(url: str, conversas: int) -> None:
    upgrade_database(url)
    engine = get_engine(url)
    anchor = default_anchor()
    load_database(engine, generate_conversations(conversas, seed=42, anchor=anchor), anchor)
    analyze_pending(engine)
    with session_scope(engine) as session:
        create_admin(session, "bench", SENHA, nome="Bench")


def measure(url: str, engine, teclas: int) -> tuple[list[float], list[float]]:
    nexts, readys = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        page.wait_for_selector(APP)
        page.get_by_label("Usuário").fill("bench")
        page.get_by_label("Senha").fill(SENHA)
        page.get_by_role("button", name="Entrar").click()
        page.get_by_text("Conectado como").wait_for(timeout=60_000)
        page.get_by_test_id("stSidebarNav").get_by_text("Revisar", exact=True).click()
        page.locator(HEADING).wait_for(timeout=60_000)
        page.wait_for_timeout(2_000)  # first load and prefetch done
        for i in range(teclas):
            atual = page.locator(HEADING).inner_text()
            start = time.perf_counter()
            page.keyboard.press("1" if i % 2 == 0 else "2")
            page.wait_for_function(NEXT_JS, arg=[atual], polling="raf", timeout=30_000)
            nexts.append((time.perf_counter() - start) * 1000)
            novo = int(page.locator(HEADING).inner_text().split("#")[1])
            page.locator(f".st-key-rv_motivo_{novo} input").wait_for(timeout=30_000)
            page.wait_for_function(LAST_JS, arg=[last_message(engine, novo)], polling="raf",
                                   timeout=30_000)
            readys.append((time.perf_counter() - start) * 1000)
            page.wait_for_timeout(300)  # a person reads before the next key
        browser.close()
    return nexts, readys


def summary(name: str, values: list[float]) -> str:
    values = sorted(values)
    p90 = values[int(0.9 * (len(values) - 1))]
    return (f"{name}: median {statistics.median(values):.0f} ms, p90 {p90:.0f} ms, "
            f"max {values[-1]:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teclas", type=int, default=40)
    parser.add_argument("--conversas", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url_db = f"sqlite:///{tmp}/curadoria.db"
        build_database(url_db, args.conversas)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url_db,
               "CURADORIA_INITIAL_PASSWORD_FILE": f"{tmp}/senha_inicial.txt"}
        env.pop("REDIS_URL", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"),
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url, process)
            nexts, readys = measure(url, get_engine(url_db), args.teclas)
        finally:
            process.terminate()
            process.wait(timeout=10)
    print(f"{args.teclas} keys, SQLite, {args.conversas} demo conversas (budget 300 ms)")
    print(summary("key -> next conversa", nexts))
    print(summary("key -> screen complete", readys))


if __name__ == "__main__":
    main()
