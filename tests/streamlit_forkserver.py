"""Start many fresh `streamlit run app.py` servers cheaply: import once, fork per server.

Each line read from stdin is "PORT LOG_PATH"; the process forks a child that runs exactly
what `python -m streamlit run app.py --server.port PORT ...` runs (streamlit's own
CLI entry point), with its output in LOG_PATH, and answers with the child's pid. Streamlit's
runtime (sessions, the page registry) is created only in the child, so every child is a
freshly started server; only the module imports (seconds of CPU each) are shared.
Used by tests that need a server whose very first request is a given URL.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def preload() -> None:
    """Import what the server and the dashboard's first run import (no side effects)."""
    import pandas  # noqa: F401
    import plotly.express  # noqa: F401
    import streamlit  # noqa: F401
    import streamlit.runtime.scriptrunner.script_runner  # noqa: F401
    import streamlit.web.bootstrap  # noqa: F401
    import streamlit.web.cli  # noqa: F401
    import streamlit.web.server.server  # noqa: F401
    import streamlit.web.server.starlette.starlette_app  # noqa: F401
    import streamlit.web.server.starlette.starlette_server  # noqa: F401
    import uvicorn  # noqa: F401

    import sqlite3  # noqa: F401

    import alembic.command  # noqa: F401
    import alembic.config  # noqa: F401
    import alembic.script  # noqa: F401
    import mako.template  # noqa: F401

    import core.auth  # noqa: F401
    import core.login_sessions  # noqa: F401
    import core.config  # noqa: F401
    import core.db  # noqa: F401
    import core.errors  # noqa: F401
    import core.poller.notify  # noqa: F401
    import pages.ui.common  # noqa: F401


def serve(port: int, log_path: str) -> None:
    """In the child: become `streamlit run app.py` on this port."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    from streamlit.web import cli

    code = 0
    try:
        cli.main(args=["run", str(ROOT / "app.py"), "--server.port", str(port),
                       "--server.address", "127.0.0.1", "--server.headless", "true",
                       "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                 prog_name="streamlit", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report and leave the child, never the parent's code
        import traceback
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    preload()
    print("ready", flush=True)
    for line in sys.stdin:
        port, log_path = line.split()
        pid = os.fork()
        if pid == 0:
            serve(int(port), log_path)
        print(pid, flush=True)
    # stdin closed: the test is over; children are stopped by the test itself.


if __name__ == "__main__":
    main()
