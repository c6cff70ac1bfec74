"""Poller figures: SIGTERM-to-exit latency while sleeping, and one cycle over N jobs.

Usage (PostgreSQL or SQLite URL; the database is created/migrated and emptied):
    .venv/bin/python bench/poller.py --database-url postgresql://postgres@127.0.0.1/curadoria_bench_poller \
        [--jobs 200] [--stops 5]
The jobs are created at the local fake OpenAI API (tests/fake_openai.py) and already
succeeded there, so a cycle fetches and applies every one of them through the real SDK.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure_stop(runs: int, env: dict) -> list[float]:
    """Seconds from SIGTERM (sent while the poller sleeps) to the process exit."""
    figures = []
    for _ in range(runs):
        proc = subprocess.Popen([sys.executable, str(ROOT / "poller.py"), "--interval", "600"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            if "acao=aguardando" in line:
                break
        started = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        figures.append(time.perf_counter() - started)
        assert proc.returncode == 0
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--stops", type=int, default=5)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.pop("REDIS_URL", None)
    from core import config
    from core.db import get_engine, session_scope, upgrade_database
    from tests.conftest import empty_database
    from tests.fake_openai import FakeOpenAI

    if args.database_url.startswith("postgres"):
        from sqlalchemy import create_engine, text
        name = args.database_url.rsplit("/", 1)[1]
        admin = create_engine(args.database_url.rsplit("/", 1)[0].replace(
            "postgresql://", "postgresql+psycopg://") + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": name}).scalar():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade_database(args.database_url)
    engine = get_engine(args.database_url)
    empty_database(engine)

    fake = FakeOpenAI().start()
    os.environ.update({"OPENAI_API_KEY": fake.api_key, "OPENAI_BASE_URL": fake.base_url,
                       "CURADORIA_OPENAI_MAX_RETRIES": "0"})
    config.reset_settings()
    from core.clientes.directory import create_cliente
    from core.finetune.registry import get_provider
    from core.db.tables import FineTuningJob
    from core.poller.cycle import run_cycle

    with session_scope(engine) as session:
        for n in range(args.jobs):
            cliente = create_cliente(session, f"bench-{n}")
            job_id = f"ftjob-bench{n:06d}"
            fake.jobs[job_id] = {"id": job_id, "object": "fine_tuning.job", "status": "running",
                                 "model": "gpt-4.1-mini-2025-04-14", "created_at": int(time.time()),
                                 "error": None, "fine_tuned_model": None, "trained_tokens": None,
                                 "user_provided_suffix": f"bench-{n}", "metadata": None}
            fake.succeed(job_id)
            session.add(FineTuningJob(cliente_id=cliente.id, openai_job_id=job_id, status="running",
                                      modelo_base="gpt-4.1-mini-2025-04-14"))
    started = time.perf_counter()
    summary = run_cycle(engine, lambda _n: get_provider(), nome="bench", ingest=False,
                        analysis=False)
    elapsed = time.perf_counter() - started
    assert summary.jobs.aplicados == args.jobs, summary.jobs
    print(f"cycle: {args.jobs} jobs applied in {elapsed:.2f} s "
          f"({args.jobs / elapsed:.0f} jobs/s, {1000 * elapsed / args.jobs:.1f} ms/job)")
    fake.stop()

    stops = measure_stop(args.stops, {**os.environ, "PYTHONUNBUFFERED": "1"})
    print(f"SIGTERM while sleeping -> exit: median {statistics.median(stops) * 1000:.0f} ms, "
          f"max {max(stops) * 1000:.0f} ms over {len(stops)} runs")


if __name__ == "__main__":
    main()
