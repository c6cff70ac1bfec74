"""The poller while its database is down, not created yet or not migrated: one log line per
failed cycle (no traceback), the migration retried every cycle until it succeeds, and the
next cycle after the database comes back works, without a restart. Real processes, real
PostgreSQL (a TCP relay plays the server going away and coming back), real SQLite files."""
from __future__ import annotations

import logging
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from core.db import get_engine
from core.db.migrate import alembic_config
from core.poller.cycle import PollerDatabase, run_poller_cycle
from tests.conftest import PG_ADMIN_URL, _backends
from tests.poll_helpers import ScriptedProvider

ROOT = Path(__file__).resolve().parent.parent
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()

needs_postgres = pytest.mark.skipif("postgresql" not in _backends(),
                                    reason="PostgreSQL not in CURADORIA_TEST_BACKENDS")


# --- helpers --------------------------------------------------------------------------------

class PollerProcess:
    """`python poller.py ...` with its output collected line by line in a thread."""

    def __init__(self, *args: str, database_url: str):
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env.update(PYTHONUNBUFFERED="1", DATABASE_URL=database_url)
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "poller.py"), *args], cwd=ROOT,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def output(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def wait_for(self, predicate: Callable[[list[str]], bool], limit: float = 90) -> None:
        deadline = time.monotonic() + limit
        with self._changed:
            while not predicate(self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not predicate(self.lines)):
                    raise AssertionError(f"not seen; output:\n{''.join(self.lines)}")
                self._changed.wait(min(remaining, 0.5))

    def count(self, needle: str, since: int = 0) -> int:
        with self._changed:
            return sum(needle in line for line in self.lines[since:])

    def wait_for_count(self, needle: str, n: int, since: int = 0) -> None:
        self.wait_for(lambda lines: sum(needle in line for line in lines[since:]) >= n)

    def stop(self) -> float:
        """SIGTERM; returns how long the process took to exit."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def assert_one_line_per_failed_cycle(lines: list[str], interval: float) -> None:
    """Every line is a `ciclo_falhou` (no traceback, no other line), and there are no more of
    them than cycles that fit in the time they span (two lines per cycle would double it)."""
    assert lines, "no failed cycle logged"
    assert all("acao=ciclo_falhou" in line for line in lines), "".join(lines)
    stamps = [time.mktime(time.strptime(re.search(r"ts=(\S+)", line).group(1)[:19],
                                        "%Y-%m-%dT%H:%M:%S")) for line in lines]
    span = stamps[-1] - stamps[0]
    assert len(lines) <= span / interval + 2, "".join(lines)


def failed_cycle_lines(poller: PollerProcess, since: int = 0) -> list[str]:
    """From the first `ciclo_falhou` after `since`, the run of lines up to the first line that
    is not a failed cycle's (or the end)."""
    with poller._changed:
        tail = poller.lines[since:]
    start = next(i for i, line in enumerate(tail) if "acao=ciclo_falhou" in line)
    out = []
    for line in tail[start:]:
        if "acao=ciclo_falhou" not in line:
            break
        out.append(line)
    return out


def pg_url(name: str, port: int = 5432) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return re.sub(r":\d+$", f":{port}", base) + f"/{name}"


def schema_revision_and_heartbeats(url: str) -> tuple[str, list[tuple]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            rows = conn.execute(text("SELECT nome, ciclo_concluido_em FROM poller_heartbeats"))
            return revision, [tuple(r) for r in rows]
    finally:
        engine.dispose()


@pytest.fixture
def pg_admin() -> Iterator:
    if "postgresql" not in _backends():
        pytest.skip("PostgreSQL not in CURADORIA_TEST_BACKENDS")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


@pytest.fixture
def database_name(pg_admin) -> Iterator[str]:
    """A database name nobody uses; the database is dropped at the end if it was created."""
    name = f"curadoria_poller_{uuid.uuid4().hex[:10]}"
    yield name
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def create_database(admin, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TcpRelay:
    """127.0.0.1:port -> PostgreSQL. `stop()` closes the port and every open connection:
    to the poller the server is gone; `start()` brings it back on the same port."""

    def __init__(self, port: int, target: tuple[str, int]):
        self.port, self.target = port, target
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in sel.select():
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            sel.close()
            a.close()
            b.close()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self._sockets.clear()


# --- PostgreSQL, the script as a process ----------------------------------------------------

@needs_postgres
def test_a_poller_started_before_its_database_exists_logs_one_line_per_cycle_then_migrates_it_without_restart(
        pg_admin, database_name):
    url = pg_url(database_name)
    poller = PollerProcess("--interval", "1", database_url=url)
    try:
        poller.wait_for_count("acao=ciclo_falhou", 3)
        failed = failed_cycle_lines(poller)
        assert_one_line_per_failed_cycle(failed, interval=1)
        assert f'o banco \\"{database_name}\\" não existe' in failed[0]
        assert "etapa=migracao" in failed[0]

        create_database(pg_admin, database_name)  # while the poller runs
        poller.wait_for_count("acao=ciclo_fim", 1)
        assert poller.proc.poll() is None  # the same process, never restarted
        revision, heartbeats = schema_revision_and_heartbeats(url)
        assert revision == HEAD
        assert len(heartbeats) == 1 and heartbeats[0][1] is not None
        output = poller.output()
        assert "Traceback" not in output and "does not exist" not in output.split("ciclo_fim")[1]

        assert poller.stop() < 3  # SIGTERM still ends it promptly
        assert poller.proc.returncode == 0
    finally:
        poller.kill()


@needs_postgres
def test_a_server_unreachable_at_start_is_migrated_when_it_answers_and_an_outage_later_costs_one_line_per_cycle(
        pg_admin, database_name):
    create_database(pg_admin, database_name)  # exists, empty: never migrated
    relay = TcpRelay(free_port(), ("127.0.0.1", 5432))
    url = pg_url(database_name, relay.port)
    poller = PollerProcess("--interval", "1", database_url=url)
    try:
        # Nothing listens: the migration at start fails, one line per cycle.
        poller.wait_for_count("acao=ciclo_falhou", 2)
        failed = failed_cycle_lines(poller)
        assert_one_line_per_failed_cycle(failed, interval=1)
        assert "conexão recusada" in failed[0] and "etapa=migracao" in failed[0]

        relay.start()  # the server answers: the next cycle migrates and runs
        poller.wait_for_count("acao=ciclo_fim", 1)
        assert schema_revision_and_heartbeats(pg_url(database_name))[0] == HEAD

        # A later outage: the pooled connections die, one line per cycle again.
        relay.stop()
        mark = len(poller.lines)
        poller.wait_for_count("acao=ciclo_falhou", 3, since=mark)
        failed = failed_cycle_lines(poller, mark)
        assert len(failed) >= 3  # nothing else between them: no traceback, no step errors
        assert_one_line_per_failed_cycle(failed, interval=1)
        assert "banco de dados indisponível" in failed[-1]

        relay.start()
        mark = len(poller.lines)
        poller.wait_for_count("acao=ciclo_fim", 1, since=mark)
        assert "Traceback" not in poller.output()
        assert poller.proc.poll() is None
    finally:
        poller.kill()
        relay.stop()


def test_sigterm_stops_a_poller_whose_database_is_down_within_a_second():
    poller = PollerProcess("--interval", "1",
                           database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    try:
        poller.wait_for_count("acao=ciclo_falhou", 2)
        elapsed = poller.stop()
        assert poller.proc.returncode == 0
        assert elapsed < 1.5, elapsed
        assert "acao=parada_solicitada sinal=SIGTERM" in poller.output()
    finally:
        poller.kill()


def test_sigterm_stops_a_poller_stuck_connecting_to_a_server_that_never_answers_within_a_second():
    # The port accepts TCP connections (the kernel's backlog) but nobody ever answers:
    # connecting blocks with no timeout, so the loop never sees the stop flag by itself.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        poller = PollerProcess("--interval", "1",
                               database_url=f"postgresql://postgres@127.0.0.1:{port}/x")
        try:
            poller.wait_for_count("acao=poller_inicio", 1)
            time.sleep(1)  # inside the first cycle's connection attempt
            assert poller.proc.poll() is None and poller.count("acao=ciclo_") == 0
            elapsed = poller.stop()
            assert poller.proc.returncode == 0
            assert elapsed < 1.5, elapsed
            assert "acao=parada_forcada" in poller.output()
        finally:
            poller.kill()


def test_poller_once_on_an_unreachable_database_exits_1_with_one_line_and_no_traceback():
    url = f"postgresql://curadoria:segredo@127.0.0.1:{free_port()}/curadoria"
    result = subprocess.run([sys.executable, str(ROOT / "poller.py"), "--once"], cwd=ROOT,
                            env={**os.environ, "DATABASE_URL": url}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert [line for line in lines if "nivel=ERROR" in line] == [
        line for line in lines if "acao=ciclo_falhou" in line]
    assert len([line for line in lines if "acao=ciclo_falhou" in line]) == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "segredo" not in result.stdout  # the reason names the server, not the password


# --- SQLite ---------------------------------------------------------------------------------

def test_a_sqlite_path_that_cannot_be_created_costs_one_line_per_cycle_until_it_can(tmp_path):
    blocker = tmp_path / "dados"
    blocker.write_text("a file where the database directory should be")
    database = blocker / "curadoria.db"
    poller = PollerProcess("--interval", "1", database_url=f"sqlite:///{database}")
    try:
        poller.wait_for_count("acao=ciclo_falhou", 2)
        failed = failed_cycle_lines(poller)
        assert_one_line_per_failed_cycle(failed, interval=1)
        assert "há um arquivo no lugar do diretório" in failed[0]

        blocker.unlink()
        blocker.mkdir()
        poller.wait_for_count("acao=ciclo_fim", 1)
        revision, heartbeats = schema_revision_and_heartbeats(f"sqlite:///{database}")
        assert revision == HEAD and len(heartbeats) == 1
        assert "Traceback" not in poller.output()
    finally:
        poller.kill()


# --- the cycle in process -------------------------------------------------------------------

def factory(_name):
    return ScriptedProvider({})


def cycle(database: PollerDatabase):
    return run_poller_cycle(database, factory, nome="teste", intervalo=60,
                            sleep=lambda _s: None)


@needs_postgres
def test_a_database_recreated_empty_under_a_running_poller_is_migrated_again_by_the_next_cycle(
        pg_admin, database_name, monkeypatch, caplog):
    monkeypatch.delenv("REDIS_URL", raising=False)
    create_database(pg_admin, database_name)
    database = PollerDatabase(pg_url(database_name))
    assert cycle(database).falha is None and database.migrar is False

    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{database_name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database_name}"'))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="curadoria.poller"):
        summary = cycle(database)
    assert summary.falha and "esquema do banco ausente" in summary.falha
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        caplog.records[-1].getMessage()]
    assert caplog.records[-1].exc_info is None and "acao=ciclo_falhou" in caplog.text

    assert cycle(database).falha is None  # migrated again, then a normal cycle
    assert schema_revision_and_heartbeats(pg_url(database_name))[0] == HEAD
    get_engine(pg_url(database_name)).dispose()


def test_a_failed_migration_is_attempted_again_by_every_cycle_until_it_succeeds(
        tmp_path, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    blocker = tmp_path / "dados"
    blocker.write_text("")
    database = PollerDatabase(f"sqlite:///{blocker / 'curadoria.db'}")
    for _ in range(2):
        summary = cycle(database)
        assert summary.falha and database.migrar is True
    blocker.unlink()
    blocker.mkdir()
    assert cycle(database).falha is None and database.migrar is False
    assert schema_revision_and_heartbeats(database.url)[0] == HEAD
    get_engine(database.url).dispose()
