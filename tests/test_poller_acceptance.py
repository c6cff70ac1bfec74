"""Acceptance (CT7, CT8 and the fault rules): the real openai SDK against the local fake
OpenAI API, the real database (SQLite and PostgreSQL) and the real Redis, and the
`poller.py` script as a process (kill -9, SIGTERM)."""
from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select as sql_select

from core import config as config_module
from core.db import session_scope
from core.db.tables import Cliente, FineTuningJob, ModeloHistorico, Notificacao
from core.finetune.deploy import redis_model_key
from core.finetune.registry import get_provider
from core.poller.cycle import get_poller_status, run_cycle
from tests.poll_helpers import make_cliente, make_job

ROOT = Path(__file__).resolve().parent.parent
JSONL = b"".join(
    b'{"messages":[{"role":"user","content":"Oi, qual o hor\\u00e1rio?"},'
    b'{"role":"assistant","content":"Das 8h \\u00e0s 18h."}]}\n' for _ in range(10))


@pytest.fixture
def fast_retries(monkeypatch):
    """No real waiting between the poller's own retries (the waits are recorded instead)."""
    monkeypatch.setenv("CURADORIA_POLLER_BACKOFF_SECONDS", "0")
    config_module.reset_settings()


def remote_job(fake, tmp_path, slug: str = "padaria") -> str:
    """A job created at the fake API through the real SDK (upload + create)."""
    path = tmp_path / f"{slug}.jsonl"
    path.write_bytes(JSONL)
    provider = get_provider()
    file_id = provider.upload_file(path)
    job = provider.create_job(training_file=file_id, validation_file=None,
                              model="gpt-4.1-mini-2025-04-14", suffix=slug, metadata={})
    return job.id


def factory(_name):
    return get_provider()


def cycle(engine, waits: list | None = None, nome: str = "teste"):
    return run_cycle(engine, factory, nome=nome, intervalo=60,
                     sleep=(waits.append if waits is not None else lambda _s: None))


def job_row(engine, job_id) -> FineTuningJob:
    with session_scope(engine) as session:
        return session.get(FineTuningJob, job_id)


def count(engine, model) -> int:
    with session_scope(engine) as session:
        return session.scalar(sql_select(func.count()).select_from(model))


def modelo_ativo(engine, cliente_id):
    with session_scope(engine) as session:
        return session.get(Cliente, cliente_id).modelo_ativo


def test_ct7_pending_running_succeeded_applies_the_model_in_db_and_redis_and_notifies_once(
        engine, fake_openai, tmp_path, redis_client, redis_prefix):
    cliente_id = make_cliente(engine, "padaria", redis_prefix)
    remote = remote_job(fake_openai, tmp_path)
    job_id = make_job(engine, cliente_id, remote)

    cycle(engine)
    assert job_row(engine, job_id).status == "pending"  # validating_files

    fake_openai.step(remote, 3, 10, estimated_finish=int(time.time()) + 3600)
    cycle(engine)
    job = job_row(engine, job_id)
    assert (job.status, job.status_provedor, job.progresso) == ("running", "running", 30)
    assert job.previsao_conclusao is not None
    assert modelo_ativo(engine, cliente_id) is None

    fake_openai.step(remote, 7, 10)
    cycle(engine)
    assert job_row(engine, job_id).progresso == 70

    fake_openai.succeed(remote, trained_tokens=98_765)
    summary = cycle(engine)
    job = job_row(engine, job_id)
    model = fake_openai.jobs[remote]["fine_tuned_model"]
    assert summary.jobs.aplicados == 1
    assert (job.status, job.modelo_fine_tuned, job.trained_tokens) == ("succeeded", model, 98_765)
    assert job.completed_at is not None and job.custo_real_usd is not None
    assert modelo_ativo(engine, cliente_id) == model
    assert redis_client.get(f"{redis_prefix}curadoria:modelo_ativo") == model.encode()

    for _ in range(2):
        cycle(engine)
    assert count(engine, Notificacao) == 1
    assert count(engine, ModeloHistorico) == 1
    with session_scope(engine) as session:
        status = get_poller_status(session)
    assert status is not None and status.nome == "teste" and status.ciclo_concluido_em


def test_ct8_a_failed_job_records_the_providers_error_and_notifies_once(
        engine, fake_openai, tmp_path):
    cliente_id = make_cliente(engine, "loja")
    remote = remote_job(fake_openai, tmp_path)
    job_id = make_job(engine, cliente_id, remote, status="running")
    fake_openai.fail_job(remote, message="The job failed due to an invalid training file.")
    for _ in range(2):
        cycle(engine)
    job = job_row(engine, job_id)
    assert job.status == "failed"
    assert "The job failed due to an invalid training file." in job.erro
    assert modelo_ativo(engine, cliente_id) is None
    assert count(engine, Notificacao) == 1


def test_a_burst_of_429_is_retried_honouring_retry_after_then_applied_once(
        engine, fake_openai, tmp_path, fast_retries):
    job_id = make_job(engine, make_cliente(engine, "loja"), remote := remote_job(fake_openai, tmp_path),
                      status="running")
    fake_openai.succeed(remote)
    fake_openai.fail("jobs.retrieve", "rate_limit", times=3)  # retry-after: 1
    waits: list[float] = []
    summary = cycle(engine, waits)
    assert summary.jobs.aplicados == 1 and waits == [1.0, 1.0, 1.0]
    assert job_row(engine, job_id).status == "succeeded"
    assert count(engine, Notificacao) == 1


def test_a_burst_of_500_longer_than_the_retries_leaves_the_job_for_the_next_cycle(
        engine, fake_openai, tmp_path, fast_retries, settings):
    job_id = make_job(engine, make_cliente(engine, "loja"), remote := remote_job(fake_openai, tmp_path),
                      status="running")
    fake_openai.succeed(remote)
    fake_openai.fail("jobs.retrieve", "server_error", times=config_module.get_settings().poller_max_tentativas)
    summary = cycle(engine)
    job = job_row(engine, job_id)
    assert summary.jobs.transitorios == 1 and job.status == "running"
    assert "500" in job.ultimo_erro_transitorio and count(engine, Notificacao) == 0
    summary = cycle(engine)
    assert summary.jobs.aplicados == 1 and count(engine, Notificacao) == 1


def test_a_timeout_is_retried(engine, fake_openai, tmp_path, fast_retries, monkeypatch):
    monkeypatch.setenv("CURADORIA_OPENAI_TIMEOUT_SECONDS", "0.5")
    config_module.reset_settings()
    job_id = make_job(engine, make_cliente(engine, "loja"), remote := remote_job(fake_openai, tmp_path),
                      status="running")
    fake_openai.succeed(remote)
    fake_openai.fail("jobs.retrieve", "slow", delay=1.5)
    summary = cycle(engine)
    assert summary.jobs.aplicados == 1 and job_row(engine, job_id).status == "succeeded"


def test_connection_refused_keeps_the_job_open_without_stopping_the_cycle(
        engine, fake_openai, tmp_path, fast_retries, monkeypatch):
    job_id = make_job(engine, make_cliente(engine, "loja"), remote_job(fake_openai, tmp_path),
                      status="running")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    config_module.reset_settings()
    summary = cycle(engine)
    job = job_row(engine, job_id)
    assert summary.jobs.transitorios == 1 and job.status == "running"
    assert "conectar" in job.ultimo_erro_transitorio


def test_two_pollers_in_parallel_apply_and_notify_each_job_once(
        engine, fake_openai, tmp_path, fast_retries):
    jobs = []
    for n in range(4):
        remote = remote_job(fake_openai, tmp_path, f"loja-{n}")
        jobs.append(make_job(engine, make_cliente(engine, f"loja-{n}"), remote, "running"))
        fake_openai.succeed(remote)
    results: list = []
    threads = [threading.Thread(target=lambda n=n: results.append(cycle(engine, nome=f"p{n}")))
               for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.jobs.aplicados for r in results) == 4
    assert all(job_row(engine, j).status == "succeeded" for j in jobs)
    assert count(engine, Notificacao) == 4 and count(engine, ModeloHistorico) == 4


# --- the script as a process -----------------------------------------------------------

def start_poller(*args: str, env_extra: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    return subprocess.Popen([sys.executable, str(ROOT / "poller.py"), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_line(proc: subprocess.Popen, needle: str, limit: float = 120) -> str:
    """Read the process's output (in a thread: no buffering surprises) until a line
    contains `needle`."""
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line)
            if needle in line:
                return

    threading.Thread(target=pump, daemon=True).start()
    seen = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"{needle!r} not seen; output:\n{''.join(seen)}")


def test_poller_once_runs_one_cycle_and_exits_0(engine, fake_openai, tmp_path):
    job_id = make_job(engine, make_cliente(engine, "loja"), remote := remote_job(fake_openai, tmp_path),
                      status="running")
    fake_openai.succeed(remote)
    result = subprocess.run([sys.executable, str(ROOT / "poller.py"), "--once"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "acao=modelo_aplicado" in result.stdout, result.stdout
    assert "acao=ciclo_fim" in result.stdout
    assert job_row(engine, job_id).status == "succeeded"


def test_sigterm_during_the_sleep_stops_the_poller_promptly_with_exit_0(engine):
    proc = start_poller("--interval", "600")
    try:
        wait_for_line(proc, "acao=aguardando")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0  # the 600 s sleep was interrupted
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_poller_killed_mid_cycle_then_restarted_applies_and_notifies_each_job_once(
        engine, fake_openai, tmp_path, redis_client, redis_prefix):
    clientes = [make_cliente(engine, f"loja-{n}", f"{redis_prefix}{n}:") for n in range(3)]
    remotes = [remote_job(fake_openai, tmp_path, f"loja-{n}") for n in range(3)]
    jobs = [make_job(engine, c, r, "running") for c, r in zip(clientes, remotes)]
    for remote in remotes:
        fake_openai.succeed(remote)
    # The second job's answer hangs: the poller is killed after applying the first job
    # and while it holds the second one.
    reached, release = threading.Event(), threading.Event()
    original = fake_openai._jobs_retrieve

    def hanging(args, *rest):
        if args["id"] == remotes[1] and not release.is_set():
            reached.set()
            release.wait(30)
        return original(args, *rest)

    fake_openai._jobs_retrieve = hanging
    env = {"CURADORIA_POLLER_LEASE_SECONDS": "1", "CURADORIA_OPENAI_TIMEOUT_SECONDS": "60"}
    proc = start_poller("--once", env_extra=env)
    try:
        assert reached.wait(60), "the poller never asked for the second job"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    assert job_row(engine, jobs[0]).status == "succeeded"
    assert job_row(engine, jobs[1]).status == "running"
    time.sleep(1.2)  # let the dead poller's SQLite lease run out (PostgreSQL needs no wait)

    for _ in range(2):
        again = subprocess.run([sys.executable, str(ROOT / "poller.py"), "--once"], cwd=ROOT,
                               capture_output=True, text=True, timeout=120,
                               env={**os.environ, **env})
        assert again.returncode == 0, again.stdout
    assert [job_row(engine, j).status for j in jobs] == ["succeeded"] * 3
    assert count(engine, Notificacao) == 3 and count(engine, ModeloHistorico) == 3
    for n, cliente_id in enumerate(clientes):
        model = modelo_ativo(engine, cliente_id)
        assert redis_client.get(f"{redis_prefix}{n}:curadoria:modelo_ativo") == model.encode()
