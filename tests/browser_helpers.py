"""Real-browser test harness: `streamlit run app.py` (dashboard.py and its routes) on a free port + Debian's chromium.

Use from a test module:

    from tests.browser_helpers import browser_type_launch_args, streamlit_app  # noqa: F401

    @pytest.mark.browser
    def test_something(page, streamlit_app):
        login(page, streamlit_app)

`streamlit_app` starts one server per test module on a fresh SQLite file (schema at
head, an admin `ana`) and yields a `StreamlitApp` with its URL and engine, so a test can
seed data before opening pages. Tests run headless with pytest-playwright's `page`.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.auth import create_admin
from core.db import get_engine, session_scope, upgrade_database

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CURADORIA_TEST_CHROMIUM", "/usr/bin/chromium")
USUARIO = "ana"
SENHA = "senha-de-teste-123"
APP = "[data-testid='stApp']"


@dataclass
class StreamlitApp:
    url: str
    engine: Engine
    usuario: str = USUARIO
    senha: str = SENHA


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout} s")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches Debian's chromium instead of a downloaded browser."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@contextlib.contextmanager
def running_dashboard(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free port with these environment overrides;
    yields its URL once healthy and stops it afterwards."""
    env = {**os.environ, **env}
    env.pop("REDIS_URL", None)
    port = free_port()
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


class FreshDashboards:
    """Many freshly started dashboards, each one `streamlit run app.py` on its own port.

    A fork server (tests/streamlit_forkserver.py) imports streamlit and core once and forks
    one child per server, so a server whose very first request is a given URL costs a
    fraction of a second instead of seconds.
    """

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self._log_dir = log_dir
        env = {**os.environ, **env}
        env.pop("REDIS_URL", None)
        self._forkserver = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "streamlit_forkserver.py")], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self._forkserver.stdout.readline().strip() != "ready":
            raise RuntimeError("the streamlit fork server did not start")
        self._children: dict[int, str] = {}

    def start(self) -> tuple[str, int]:
        """Fork a new server; returns its URL (not yet healthy) and pid."""
        port = free_port()
        log = self._log_dir / f"streamlit-{port}.log"
        self._forkserver.stdin.write(f"{port} {log}\n")
        self._forkserver.stdin.flush()
        pid = int(self._forkserver.stdout.readline())
        url = f"http://127.0.0.1:{port}"
        self._children[pid] = url
        return url, pid

    def wait_healthy(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"streamlit did not answer at {url} within {timeout} s")

    def stop(self, pid: int) -> None:
        """SIGTERM one server (only the processes this fork server started)."""
        if self._children.pop(pid, None) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def close(self) -> None:
        for pid in list(self._children):
            self.stop(pid)
        self._forkserver.stdin.close()
        try:
            self._forkserver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._forkserver.kill()


@pytest.fixture(scope="module")
def streamlit_app(tmp_path_factory):
    """A running dashboard on a fresh SQLite database with the admin 'ana'."""
    tmp = tmp_path_factory.mktemp("browser")
    db_url = f"sqlite:///{tmp / 'curadoria.db'}"
    upgrade_database(db_url)
    engine = get_engine(db_url)
    with session_scope(engine) as session:
        create_admin(session, USUARIO, SENHA, nome="Ana")
    env = {"DATABASE_URL": db_url, "CURADORIA_INITIAL_PASSWORD_FILE": str(tmp / "senha_inicial.txt")}
    with running_dashboard(env, tmp / "streamlit.log") as url:
        yield StreamlitApp(url=url, engine=engine)


def open_app(page, app: StreamlitApp, path: str = "") -> None:
    """Go to a URL of the app and wait until Streamlit has rendered."""
    page.goto(f"{app.url}/{path.lstrip('/')}")
    page.wait_for_selector(APP, timeout=30_000)


def login(page, app: StreamlitApp) -> None:
    """Log in through the real form and wait for the home page."""
    open_app(page, app)
    page.get_by_label("Usuário").fill(app.usuario)
    page.get_by_label("Senha").fill(app.senha)
    page.get_by_role("button", name="Entrar").click()
    page.get_by_text("Conectado como").wait_for(timeout=30_000)


def open_page(page, title: str) -> None:
    """Open a screen through the sidebar menu (keeps the logged-in session)."""
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title).wait_for(timeout=30_000)


def wait_idle(page, timeout: float = 30_000) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stStatusWidget']\")", timeout=timeout)
