"""Which imports are still running: each run holds a lock for as long as its process lives.

A run's `importacoes` row stays open (no `concluida_em`) until the run closes it. A process
that dies first (kill -9, the OOM killer, a power cut, a database that went away before
the row could be closed) leaves it open for ever; the lock it held goes with it, so the
next import closes such rows as interrupted. No clock is involved: a run that takes hours
keeps its lock, and a dead one is recognised at once.

PostgreSQL: a session advisory lock (RUN_LOCK_NAMESPACE, importacoes.id) on a connection
of the run's own; the server drops it when that connection ends. SQLite: an exclusive
flock on a file beside the database, one per run; the kernel drops it when the process
ends. The lock is taken before the row is committed, so no other process can see an open
row whose lock is not yet held.
"""
from __future__ import annotations

import contextlib
import logging
import os

from sqlalchemy import Engine, select, text, update

from core.clock import utcnow
from core.db.tables import Importacao

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: runs left open stay open
    fcntl = None

log = logging.getLogger("curadoria.ingest")

INTERRUPTED = "Importação interrompida (processo encerrado antes de terminar)."
RUN_LOCK_NAMESPACE = 7304  # pg_advisory_lock(namespace, importacoes.id); 7303 is the cliente's


class RunLocks:
    """No way to tell (in-memory SQLite, no fcntl): every open run counts as alive."""

    def claim(self, run_id: int) -> None:
        """Hold run_id's lock until release() or the end of this process."""

    def is_abandoned(self, run_id: int) -> bool:
        """Whether nobody holds run_id's lock (its process is gone)."""
        return False

    def release(self) -> None:
        """Drop the claimed lock; never raises (it runs on the way out of failures too)."""


class _PostgresLocks(RunLocks):
    def __init__(self, engine: Engine):
        self.conn = engine.connect()
        self.run_id: int | None = None

    def claim(self, run_id: int) -> None:
        self.conn.execute(text("SELECT pg_advisory_lock(:ns, :id)"),
                          {"ns": RUN_LOCK_NAMESPACE, "id": run_id})
        self.conn.commit()  # the lock is the session's; no transaction stays open
        self.run_id = run_id

    def is_abandoned(self, run_id: int) -> bool:
        params = {"ns": RUN_LOCK_NAMESPACE, "id": run_id}
        free = self.conn.scalar(text("SELECT pg_try_advisory_lock(:ns, :id)"), params)
        if free:
            self.conn.execute(text("SELECT pg_advisory_unlock(:ns, :id)"), params)
        self.conn.commit()
        return bool(free)

    def release(self) -> None:
        try:
            if self.run_id is not None:
                self.conn.execute(text("SELECT pg_advisory_unlock(:ns, :id)"),
                                  {"ns": RUN_LOCK_NAMESPACE, "id": self.run_id})
                self.conn.commit()
        except Exception:  # noqa: BLE001 - a dead connection has dropped the lock already
            log.debug("could not release the run lock", exc_info=True)
        finally:
            with contextlib.suppress(Exception):
                self.conn.close()


class _FileLocks(RunLocks):
    def __init__(self, database: str):
        self.database = database
        self.handle = None
        self.path: str | None = None

    def _path(self, run_id: int) -> str:
        return f"{self.database}.importacao-{run_id}.lock"

    def claim(self, run_id: int) -> None:
        path = self._path(run_id)
        handle = open(path, "a+b")  # noqa: SIM115 - held until release()
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.handle, self.path = handle, path

    def is_abandoned(self, run_id: int) -> bool:
        path = self._path(run_id)
        try:
            handle = open(path, "r+b")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return True  # its run never had one (older code) or gave it up without closing the row
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            with contextlib.suppress(OSError):
                os.unlink(path)
            return True

    def release(self) -> None:
        if self.handle is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            self.handle.close()
        self.handle = None


def run_locks(engine: Engine) -> RunLocks:
    """The lock kind this database supports (PostgreSQL opens a connection for it)."""
    if engine.dialect.name == "postgresql":
        return _PostgresLocks(engine)
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:" and fcntl is not None:
        return _FileLocks(database)
    return RunLocks()


def close_abandoned_runs(engine: Engine, locks: RunLocks, exclude: int) -> list[int]:
    """Close, as interrupted, every open run whose process is gone; their ids."""
    with engine.connect() as conn:
        open_ids = list(conn.scalars(select(Importacao.id).where(
            Importacao.concluida_em.is_(None), Importacao.id != exclude).order_by(Importacao.id)))
    closed = [run_id for run_id in open_ids if locks.is_abandoned(run_id)]
    if closed:
        with engine.begin() as conn:
            conn.execute(update(Importacao).where(Importacao.id.in_(closed),
                                                  Importacao.concluida_em.is_(None))
                         .values(concluida_em=utcnow(), erro=INTERRUPTED))
        log.info("closed %d import run(s) left open by a process that ended: %s", len(closed), closed)
    return closed
