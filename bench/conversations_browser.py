"""Time until "Todas as Conversas" is interactive in a real browser (chromium, headless).

Starts `streamlit run app.py` on a free port against DATABASE_URL, creates (or
resets) the admin `bench`, logs in and then, several times, opens the page from the menu
and waits until the counters and the first card's "Boa" button are on screen.

    DATABASE_URL=postgresql://postgres@127.0.0.1/curadoria_bench_1m_conv \\
        .venv/bin/python bench/conversations_browser.py --vezes 5
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from core.auth import create_admin, set_password  # noqa: E402
from core.db import session_scope  # noqa: E402
from core.errors import CuradoriaError  # noqa: E402
from tests.browser_helpers import APP, CHROMIUM, free_port, wait_until_healthy  # noqa: E402

SENHA = "senha-do-bench-123"


def ensure_bench_admin() -> None:
    with session_scope() as session:
        try:
            create_admin(session, "bench", SENHA, nome="Bench")
        except CuradoriaError:
            pass
    with session_scope() as session:
        set_password(session, "bench", SENHA)


def measure(url: str, vezes: int) -> list[float]:
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector(APP)
        page.get_by_label("Usuário").fill("bench")
        page.get_by_label("Senha").fill(SENHA)
        page.get_by_role("button", name="Entrar").click()
        page.get_by_text("Conectado como").wait_for(timeout=60_000)
        try:
            _visit(page, vezes, times)
        except Exception:
            page.screenshot(path="/tmp/bench_conversas_browser.png", full_page=True)
            raise
        browser.close()
    return times


def _visit(page, vezes: int, times: list[float]) -> None:
    if True:
        for _ in range(vezes):
            page.get_by_test_id("stSidebarNav").get_by_text("Visão geral", exact=True).click()
            page.get_by_role("heading", name="Visão geral").wait_for(timeout=60_000)
            start = time.perf_counter()
            page.get_by_test_id("stSidebarNav").get_by_text("Todas as Conversas", exact=True).click()
            page.get_by_text("Todas as conversas:").wait_for(timeout=60_000)
            page.get_by_role("button", name="Boa").first.wait_for(timeout=60_000)
            times.append((time.perf_counter() - start) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vezes", type=int, default=5)
    args = parser.parse_args()
    ensure_bench_admin()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        times = sorted(measure(url, args.vezes))
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"page interactive: median {statistics.median(times):.0f} ms, "
          f"max {times[-1]:.0f} ms over {len(times)} visits (budget 2000 ms)")


if __name__ == "__main__":
    main()
