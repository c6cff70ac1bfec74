"""The job check cycle against an in-test provider: progress, apply once, notify once,
failures recorded, transient errors retried, one bad job never stops the others."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.db.tables import Cliente, FineTuningJob, ModeloHistorico, Notificacao
from core.finetune.deploy import redis_model_key
from core.finetune.follow import check_jobs
from core.finetune.provider import (
    InvalidApiKey,
    JobNotFound,
    ProviderJob,
    ProviderUnavailable,
    RateLimited,
)
from tests.poll_helpers import (
    ScriptedProvider,
    failed,
    make_cliente,
    make_job,
    running,
    succeeded,
)


def _job(engine, job_id) -> FineTuningJob:
    with session_scope(engine) as session:
        return session.get(FineTuningJob, job_id)


def _cliente(engine, cliente_id) -> Cliente:
    with session_scope(engine) as session:
        return session.get(Cliente, cliente_id)


def _count(engine, model, **where) -> int:
    with session_scope(engine) as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return session.scalar(query)


def _factory(provider):
    return lambda _name: provider


def test_a_job_goes_from_pending_to_running_with_progress_then_is_applied_once(
        engine, redis_client, redis_prefix):
    cliente_id = make_cliente(engine, "padaria", redis_prefix)
    job_id = make_job(engine, cliente_id, "ftjob-1")
    model = "ft:gpt-4.1-mini-2025-04-14:org:padaria:abc"
    provider = ScriptedProvider({"ftjob-1": [
        ProviderJob(id="ftjob-1", status="validating_files"),
        running("ftjob-1", progress=40),
        succeeded("ftjob-1", model, tokens=150_000),
    ]})

    check_jobs(engine, _factory(provider), sleep=lambda _s: None)
    assert _job(engine, job_id).status == "pending"

    summary = check_jobs(engine, _factory(provider), sleep=lambda _s: None)
    job = _job(engine, job_id)
    assert (summary.atualizados, job.status, job.progresso) == (1, "running", 40)
    assert job.previsao_conclusao is not None and job.previsao_conclusao > job.created_at
    assert _cliente(engine, cliente_id).modelo_ativo is None

    summary = check_jobs(engine, _factory(provider), sleep=lambda _s: None)
    job = _job(engine, job_id)
    assert summary.aplicados == 1
    assert (job.status, job.modelo_fine_tuned, job.trained_tokens, job.progresso) == (
        "succeeded", model, 150_000, 100)
    assert job.completed_at is not None and job.aplicado_em is not None
    # Real cost: the estimate (US$ 0.50 for 100k tokens) scaled to the billed 150k tokens.
    assert job.custo_real_usd == Decimal("0.75") and job.custo_real == Decimal("4.13")
    assert _cliente(engine, cliente_id).modelo_ativo == model
    assert redis_client.get(f"{redis_prefix}curadoria:modelo_ativo") == model.encode()
    assert _count(engine, ModeloHistorico, cliente_id=cliente_id, motivo="fine_tuning") == 1
    assert _count(engine, Notificacao, fine_tuning_job_id=job_id) == 1

    # Later cycles see no open job: nothing is applied or notified again.
    again = check_jobs(engine, _factory(provider), sleep=lambda _s: None)
    assert again.verificados == 0
    assert provider.calls["ftjob-1"] == 3
    assert _count(engine, Notificacao) == 1


@pytest.mark.parametrize("state, status, erro", [
    (failed("ftjob-2", "Training file has too few examples."), "failed",
     "Training file has too few examples."),
    (ProviderJob(id="ftjob-2", status="cancelled"), "cancelled", "Job cancelado no provedor."),
])
def test_a_failed_or_cancelled_job_records_the_providers_message_and_notifies_once(
        engine, state, status, erro):
    cliente_id = make_cliente(engine, "loja")
    job_id = make_job(engine, cliente_id, "ftjob-2", status="running")
    provider = ScriptedProvider({"ftjob-2": [state]})
    for _ in range(2):
        check_jobs(engine, _factory(provider), sleep=lambda _s: None)
    job = _job(engine, job_id)
    assert (job.status, job.erro, job.modelo_fine_tuned) == (status, erro, None)
    assert job.completed_at is not None
    assert _cliente(engine, cliente_id).modelo_ativo is None
    with session_scope(engine) as session:
        notes = list(session.scalars(select(Notificacao)))
    assert len(notes) == 1 and erro in notes[0].mensagem


def test_a_provider_error_with_an_empty_message_still_records_a_readable_erro(engine):
    cliente_id = make_cliente(engine, "loja")
    job_id = make_job(engine, cliente_id, "ftjob-3", status="running")
    check_jobs(engine, _factory(ScriptedProvider({"ftjob-3": [failed("ftjob-3", "")]})),
               sleep=lambda _s: None)
    assert _job(engine, job_id).erro == "O provedor não informou o motivo."


def test_a_burst_of_429_is_retried_honouring_retry_after(engine):
    cliente_id = make_cliente(engine, "loja")
    job_id = make_job(engine, cliente_id, "ftjob-4", status="running")
    limited = RateLimited("Limite de requisições da OpenAI atingido.")
    limited.retry_after = 7
    provider = ScriptedProvider({"ftjob-4": [limited, limited, limited, succeeded("ftjob-4")]})
    waits: list[float] = []
    summary = check_jobs(engine, _factory(provider), sleep=waits.append)
    assert summary.aplicados == 1 and waits == [7, 7, 7]
    assert _count(engine, Notificacao) == 1


def test_a_500_burst_longer_than_the_retries_waits_for_the_next_cycle(engine, settings):
    cliente_id = make_cliente(engine, "loja")
    job_id = make_job(engine, cliente_id, "ftjob-5", status="running")
    down = ProviderUnavailable("A OpenAI está indisponível (HTTP 500).")
    tentativas = settings.poller_max_tentativas
    provider = ScriptedProvider({"ftjob-5": [down] * tentativas + [succeeded("ftjob-5")]})
    waits: list[float] = []
    summary = check_jobs(engine, _factory(provider), sleep=waits.append)
    job = _job(engine, job_id)
    assert summary.transitorios == 1 and job.status == "running"
    assert job.falhas_transitorias == 1 and "HTTP 500" in job.ultimo_erro_transitorio
    # Exponential backoff between the attempts.
    base = settings.poller_backoff_seconds
    assert waits == [base * 2 ** i for i in range(tentativas - 1)]
    assert _count(engine, Notificacao) == 0

    summary = check_jobs(engine, _factory(provider), sleep=waits.append)
    job = _job(engine, job_id)
    assert summary.aplicados == 1 and job.status == "succeeded" and job.falhas_transitorias == 0


def test_a_long_retry_after_postpones_the_jobs_next_check(engine):
    cliente_id = make_cliente(engine, "loja")
    job_id = make_job(engine, cliente_id, "ftjob-6", status="running")
    limited = RateLimited("Limite de requisições da OpenAI atingido.")
    limited.retry_after = 3600
    provider = ScriptedProvider({"ftjob-6": [limited, succeeded("ftjob-6")]})
    summary = check_jobs(engine, _factory(provider), sleep=lambda _s: None)
    assert summary.transitorios == 1
    assert _job(engine, job_id).proxima_verificacao_em is not None
    again = check_jobs(engine, _factory(provider), sleep=lambda _s: None)
    assert again.verificados == 0 and provider.calls["ftjob-6"] == 1


def test_one_bad_job_never_stops_the_others(engine):
    ids = [make_job(engine, make_cliente(engine, f"loja-{n}"), f"ftjob-b{n}", "running")
           for n in range(3)]
    provider = ScriptedProvider({
        "ftjob-b0": [RuntimeError("resposta inesperada")],
        "ftjob-b1": [InvalidApiKey("Chave da OpenAI inválida.")],
        "ftjob-b2": [succeeded("ftjob-b2")],
    })
    summary = check_jobs(engine, _factory(provider), sleep=lambda _s: None)
    assert summary.erros == 2 and summary.aplicados == 1
    assert [_job(engine, i).status for i in ids] == ["running", "running", "succeeded"]


def test_a_job_the_provider_does_not_know_is_closed_as_failed_with_the_message(engine):
    job_id = make_job(engine, make_cliente(engine, "loja"), "ftjob-x", "running")
    provider = ScriptedProvider({"ftjob-x": [JobNotFound("Job ftjob-x não encontrado na OpenAI.")]})
    check_jobs(engine, _factory(provider), sleep=lambda _s: None)
    job = _job(engine, job_id)
    assert job.status == "failed" and "não encontrado" in job.erro


def test_a_missing_provider_leaves_the_jobs_open_and_logs(engine, caplog):
    job_id = make_job(engine, make_cliente(engine, "loja"), "ftjob-7", "running")

    def factory(_name):
        raise InvalidApiKey("Chave da OpenAI ausente.")

    summary = check_jobs(engine, factory, sleep=lambda _s: None)
    assert summary.erros == 1 and _job(engine, job_id).status == "running"
    assert "acao=provedor_indisponivel" in caplog.text


def test_two_pollers_at_once_check_each_job_once_and_apply_it_once(engine):
    jobs = {f"ftjob-p{n}": make_job(engine, make_cliente(engine, f"loja-{n}"), f"ftjob-p{n}",
                                    "running") for n in range(6)}
    provider = ScriptedProvider({key: [succeeded(key)] for key in jobs})
    both_inside = threading.Barrier(2, timeout=5)
    first_calls: set[int] = set()

    def hold_first_answer(job_id):
        # The first job each poller claims waits for the other poller to hold one too,
        # so both run their cycles at the same time.
        me = threading.get_ident()
        if me not in first_calls:
            first_calls.add(me)
            try:
                both_inside.wait()
            except threading.BrokenBarrierError:
                pass

    provider.before_answer = hold_first_answer
    results = []
    threads = [threading.Thread(target=lambda n=n: results.append(
        check_jobs(engine, _factory(provider), owner=f"poller-{n}", sleep=lambda _s: None)))
        for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(r.aplicados for r in results) == 6
    assert all(calls == 1 for calls in provider.calls.values())
    assert _count(engine, Notificacao) == 6
    assert _count(engine, ModeloHistorico) == 6


def test_a_cycle_imports_first_and_a_failing_import_does_not_stop_the_job_checks(
        engine, monkeypatch, caplog):
    from core.poller import cycle as poll
    from core.poller.cycle import get_poller_status, run_cycle

    caplog.set_level("INFO")
    calls = []

    def ingest_all(eng):
        calls.append("ingest")
        raise RuntimeError("Redis fora do ar")

    monkeypatch.setattr(poll, "ingest_all", ingest_all)
    job_id = make_job(engine, make_cliente(engine, "loja"), "ftjob-c1", "running")
    provider = ScriptedProvider({"ftjob-c1": [succeeded("ftjob-c1")]})
    provider.before_answer = lambda _id: calls.append("jobs")
    summary = run_cycle(engine, _factory(provider), nome="p1", sleep=lambda _s: None)
    assert calls == ["ingest", "jobs"]
    assert summary.importacao == "erro" and summary.jobs.aplicados == 1
    assert _job(engine, job_id).status == "succeeded"
    assert "acao=importacao_erro" in caplog.text and "acao=ciclo_fim" in caplog.text
    with session_scope(engine) as session:
        assert get_poller_status(session).nome == "p1"


def test_a_cycle_follows_the_jobs_before_analysing_and_analyses_at_most_the_batch(
        engine, monkeypatch, caplog):
    from core.poller import cycle as poll
    from core.poller.cycle import run_cycle

    caplog.set_level("INFO")
    calls = []

    def analyze_pending(eng, limite=None):
        calls.append(("analise", limite))
        return 7

    monkeypatch.setenv("CURADORIA_ANALISE_LOTE", "123")
    poll.get_settings.cache_clear()
    monkeypatch.setattr(poll, "analyze_pending", analyze_pending)
    job_id = make_job(engine, make_cliente(engine, "loja"), "ftjob-c2", "running")
    provider = ScriptedProvider({"ftjob-c2": [succeeded("ftjob-c2")]})
    provider.before_answer = lambda _id: calls.append("jobs")
    summary = run_cycle(engine, _factory(provider), nome="p1", sleep=lambda _s: None)
    poll.get_settings.cache_clear()
    assert calls == ["jobs", ("analise", 123)]
    assert summary.analise == "7 conversas"
    assert _job(engine, job_id).status == "succeeded"
    assert "acao=analise" in caplog.text


# --- the claim: a lease taken and committed at once, the provider asked outside -----------

def test_a_job_another_poller_holds_is_left_alone_until_its_lease_runs_out(engine, settings):
    from core.clock import utcnow
    from core.finetune.follow import claim_job, release_job

    job_id = make_job(engine, make_cliente(engine, "loja"), "ftjob-l1", "running")
    assert claim_job(engine, job_id, "poller-a") == "ftjob-l1"
    assert claim_job(engine, job_id, "poller-b") is None
    later = utcnow() + dt.timedelta(seconds=settings.poller_lease_seconds + 1)
    assert claim_job(engine, job_id, "poller-b", now=later) == "ftjob-l1"
    release_job(engine, job_id, "poller-a")  # not a's any more: b keeps it
    assert _job(engine, job_id).lease_dono == "poller-b"


def test_the_provider_is_asked_while_no_transaction_holds_the_job(engine):
    job_id = make_job(engine, make_cliente(engine, "loja"), "ftjob-l2", "running")
    provider = ScriptedProvider({"ftjob-l2": [succeeded("ftjob-l2")]})
    seen = {}

    def touch_the_row(_provider_job_id):
        # Another writer locks the row without waiting (NOWAIT fails on a held row lock).
        with session_scope(engine) as session:
            session.execute(select(FineTuningJob.id).where(FineTuningJob.id == job_id)
                            .with_for_update(nowait=True))
            seen["lease"] = session.get(FineTuningJob, job_id).lease_dono

    provider.before_answer = touch_the_row
    summary = check_jobs(engine, _factory(provider), owner="p1", sleep=lambda _s: None)
    assert summary.aplicados == 1 and seen == {"lease": "p1"}
    assert _job(engine, job_id).lease_dono is None


def test_a_closed_job_or_one_without_a_provider_job_is_never_claimed(engine):
    from core.finetune.follow import claim_job

    cliente_id = make_cliente(engine, "loja")
    closed = make_job(engine, cliente_id, "ftjob-l3", "succeeded")
    starting = make_job(engine, make_cliente(engine, "loja-2"), None, "pending")
    assert claim_job(engine, closed, "p1") is None and claim_job(engine, starting, "p1") is None
