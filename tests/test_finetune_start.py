"""Starting a fine-tuning job: readiness, exactly once, errors recorded (CT5, CT6)."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from core import config as config_module
from core.db import session_scope
from core.db.tables import Cliente, FineTuningJob
from core.errors import InvalidInput
from core.finetune import start as start_module
from core.finetune.catalog import ModelUnavailable
from core.finetune.provider import (
    FileRejected,
    FineTuningRefused,
    InvalidApiKey,
    MissingApiKey,
    ModelRetired,
    ProviderUnavailable,
    RateLimited,
)
from core.finetune.registry import get_provider
from core.finetune.start import (
    JobAlreadyOpen,
    NotReady,
    preview_fine_tuning,
    start_fine_tuning,
)
from core.training.dataset import export_dataset
from tests.finetune_helpers import make_cliente


@pytest.fixture
def files_dir(settings):
    """Where this test's fine-tuning files go (the settings fixture points it at tmp_path)."""
    return settings.fine_tuning_dir


def _rows(engine):
    with session_scope(engine) as session:
        return list(session.scalars(select(FineTuningJob).order_by(FineTuningJob.id)))


def test_ct5_core_refuses_below_the_thresholds_and_writes_nothing(engine, fake_openai):
    cliente_id = make_cliente(engine, boas=30, ruins=10)
    with pytest.raises(NotReady) as info:
        start_fine_tuning(engine, cliente_id, "ana")
    assert "Faltam 10 conversas avaliadas" in info.value.motivo
    assert "não está pronto" in str(info.value)
    assert _rows(engine) == []
    assert fake_openai.calls == []


def test_ct6_start_creates_one_provider_job_and_one_pending_row(engine, fake_openai):
    cliente_id = make_cliente(engine)
    result = start_fine_tuning(engine, cliente_id, "ana")
    job = fake_openai.only_job()
    [row] = _rows(engine)
    assert result.job_id == row.id and result.openai_job_id == job["id"]
    assert row.status == "pending" and row.status_provedor == "validating_files"
    assert row.openai_job_id == job["id"]
    assert row.arquivo_treino_id == job["training_file"]
    assert row.arquivo_validacao_id == job["validation_file"]
    assert row.conversas_usadas == 40
    assert row.modelo_base == "gpt-4o-mini-2024-07-18" == job["model"]
    assert row.tokens_estimados > 0 and row.epocas >= 1
    assert row.custo_estimado > 0 and row.custo_estimado_usd > 0
    assert row.iniciado_por == "ana" and row.erro is None
    assert job["method"]["type"] == "supervised"
    assert job["user_provided_suffix"] == "loja-do-joao"
    assert job["metadata"]["curadoria_job_id"] == str(row.id)


def test_ct6_the_uploaded_files_equal_the_dataset_export(engine, fake_openai, tmp_path):
    cliente_id = make_cliente(engine)
    start_fine_tuning(engine, cliente_id, "ana")
    job = fake_openai.only_job()
    with session_scope(engine) as session:
        report = export_dataset(session, "loja-do-joao", tmp_path / "export.jsonl")
    assert fake_openai.uploaded(job["training_file"]) == report.train_path.read_bytes()
    if report.validation_path:
        assert fake_openai.uploaded(job["validation_file"]) == report.validation_path.read_bytes()
    else:
        assert job["validation_file"] is None


def test_preview_shows_what_the_confirm_dialog_needs(engine, fake_openai, session):
    cliente_id = make_cliente(engine)
    preview = preview_fine_tuning(session, cliente_id)
    assert preview.conversas_usadas == 40 and preview.tokens_faturados > 0
    assert preview.custo_brl > 0 and "horas" in preview.tempo_estimado
    assert preview.desligamento == "Será desligado pela OpenAI em 14/01/2027."
    assert fake_openai.calls == []  # nothing is sent before confirmation


def test_a_second_start_is_refused_while_one_is_open(engine, fake_openai):
    cliente_id = make_cliente(engine)
    start_fine_tuning(engine, cliente_id, "ana")
    with pytest.raises(JobAlreadyOpen, match="Já existe um fine-tuning em andamento"):
        start_fine_tuning(engine, cliente_id, "bia")
    assert len(fake_openai.jobs) == 1 and len(_rows(engine)) == 1


def test_the_database_index_stops_a_start_that_passed_the_early_check(engine, fake_openai,
                                                                      monkeypatch):
    cliente_id = make_cliente(engine)
    start_fine_tuning(engine, cliente_id, "ana")
    # Simulate a racer that checked before the first row existed.
    monkeypatch.setattr(start_module, "_cliente_that_can_start",
                        lambda session, cid, **_: session.get(Cliente, cid))
    with pytest.raises(JobAlreadyOpen, match="já existe|Já existe"):
        start_fine_tuning(engine, cliente_id, "bia")
    assert len(fake_openai.jobs) == 1 and len(_rows(engine)) == 1
    assert fake_openai.route_calls("files.create") <= 2  # the loser uploaded nothing


def test_twenty_concurrent_starts_create_exactly_one_job_and_one_row(engine, fake_openai):
    cliente_id = make_cliente(engine)
    fake_openai.create_delay = 0.2  # keep the winner's job open while the others race
    barrier = threading.Barrier(20)
    results, errors = [], []

    def worker(n):
        barrier.wait()
        try:
            results.append(start_fine_tuning(engine, cliente_id, f"admin{n}"))
        except JobAlreadyOpen as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 1 and len(errors) == 19
    assert len(fake_openai.jobs) == 1 and fake_openai.route_calls("jobs.create") == 1
    [row] = _rows(engine)
    assert row.status == "pending" and row.openai_job_id == results[0].openai_job_id


def test_without_an_api_key_nothing_is_written(engine, fake_openai, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    config_module.reset_settings()
    cliente_id = make_cliente(engine)
    with pytest.raises(MissingApiKey, match="OPENAI_API_KEY"):
        start_fine_tuning(engine, cliente_id, "ana")
    assert _rows(engine) == [] and fake_openai.calls == []


@pytest.mark.parametrize("kind, error, text", [
    ("invalid_key", InvalidApiKey, "chave da API da OpenAI foi recusada"),
    ("invalid_file", FileRejected, "rejeitou o arquivo"),
    ("rate_limit", RateLimited, "limitou as requisições"),
    ("unavailable", ProviderUnavailable, "indisponível"),
])
def test_a_failed_upload_leaves_no_pending_row(engine, fake_openai, files_dir, kind, error,
                                               text):
    cliente_id = make_cliente(engine)
    fake_openai.fail("files.create", kind)
    with pytest.raises(error, match=text):
        start_fine_tuning(engine, cliente_id, "ana")
    assert _rows(engine) == [] and fake_openai.jobs == {}
    assert not any(files_dir.glob("job-*"))
    start_fine_tuning(engine, cliente_id, "ana")  # and the cliente is not blocked
    assert len(fake_openai.jobs) == 1


@pytest.mark.parametrize("kind, error, text", [
    ("invalid_key", InvalidApiKey, "chave da API da OpenAI foi recusada"),
    ("refusal", FineTuningRefused, "recusou o fine-tuning"),
    ("permission", FineTuningRefused, "recusou o fine-tuning"),
    ("model_not_available", ModelRetired, "não está mais disponível"),
    ("invalid_file", FileRejected, "rejeitou o arquivo"),
    ("rate_limit", RateLimited, "limitou as requisições"),
    ("server_error", ProviderUnavailable, "indisponível"),
    ("unavailable", ProviderUnavailable, "indisponível"),
    ("slow", ProviderUnavailable, "tempo esgotado"),
])
def test_a_failed_create_marks_the_row_failed_with_the_portuguese_error(
        engine, fake_openai, kind, error, text):
    cliente_id = make_cliente(engine)
    fake_openai.fail("jobs.create", kind, delay=3.0 if kind == "slow" else 0.0)
    with pytest.raises(error, match=text) as info:
        start_fine_tuning(engine, cliente_id, "ana")
    [row] = _rows(engine)
    assert row.status == "failed" and row.erro == str(info.value)
    assert row.openai_job_id is None and row.completed_at is not None
    assert row.arquivo_treino_id in fake_openai.files  # the upload itself had worked
    assert row.conversas_usadas == 40
    if kind != "slow":
        assert fake_openai.jobs == {}


def test_a_retired_base_model_is_refused_before_anything_is_sent(engine, fake_openai):
    cliente_id = make_cliente(engine, modelo="gpt-3.5-turbo-0125")
    with pytest.raises(ModelUnavailable, match="descontinuado"):
        start_fine_tuning(engine, cliente_id, "ana")
    assert _rows(engine) == [] and fake_openai.calls == []


def test_a_model_the_provider_dropped_is_recorded_as_retired(engine, fake_openai):
    cliente_id = make_cliente(engine, modelo="gpt-4o-2024-08-06")
    fake_openai.models.discard("gpt-4o-2024-08-06")
    with pytest.raises(ModelRetired):
        start_fine_tuning(engine, cliente_id, "ana")
    [row] = _rows(engine)
    assert row.status == "failed" and "gpt-4o-2024-08-06" in row.erro


def test_no_job_starts_from_the_provider_cut_off_date(engine, fake_openai, monkeypatch):
    cliente_id = make_cliente(engine)
    monkeypatch.setattr(start_module, "_today", lambda: dt.date(2027, 1, 6))
    with pytest.raises(ModelUnavailable, match="06/01/2027"):
        start_fine_tuning(engine, cliente_id, "ana")
    assert _rows(engine) == []


def test_after_a_failed_job_a_new_start_is_allowed(engine, fake_openai):
    cliente_id = make_cliente(engine)
    fake_openai.fail("jobs.create", "unavailable")
    with pytest.raises(ProviderUnavailable):
        start_fine_tuning(engine, cliente_id, "ana")
    start_fine_tuning(engine, cliente_id, "ana")
    assert [r.status for r in _rows(engine)] == ["failed", "pending"]


def test_a_dataset_with_errors_is_refused_and_leaves_no_row(engine, fake_openai, monkeypatch):
    cliente_id = make_cliente(engine)

    class Bad:
        ok = False
        erros = ["Poucos exemplos."]

    monkeypatch.setattr("core.training.dataset.build_training_files", lambda s, c, d: Bad())
    with pytest.raises(InvalidInput, match="Poucos exemplos"):
        start_fine_tuning(engine, cliente_id, "ana")
    assert _rows(engine) == [] and fake_openai.calls == []


def test_the_provider_can_be_injected(engine, fake_openai):
    cliente_id = make_cliente(engine)
    result = start_fine_tuning(engine, cliente_id, "ana", provider=get_provider())
    assert result.status == "pending"
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(FineTuningJob)) == 1


def _old_pending_row(engine, cliente_id, minutes, **values):
    with session_scope(engine) as session:
        when = start_module.utcnow() - dt.timedelta(minutes=minutes)
        row = FineTuningJob(cliente_id=cliente_id, status="pending", created_at=when,
                            atualizado_em=when, **values)
        session.add(row)
        session.flush()
        return row.id


def test_an_interrupted_start_stops_blocking_the_cliente_after_a_while(engine, fake_openai):
    cliente_id = make_cliente(engine)
    stale = _old_pending_row(engine, cliente_id, 31, arquivo_treino_id="file-x")
    result = start_fine_tuning(engine, cliente_id, "ana")
    rows = {r.id: r for r in _rows(engine)}
    assert rows[stale].status == "failed" and "interrompido" in rows[stale].erro
    assert f"curadoria_job_id={stale}" in rows[stale].erro
    assert rows[result.job_id].status == "pending" and len(fake_openai.jobs) == 1


def test_a_recent_start_without_a_provider_job_still_blocks(engine, fake_openai):
    cliente_id = make_cliente(engine)
    recent = _old_pending_row(engine, cliente_id, 5)
    with pytest.raises(JobAlreadyOpen, match=f"#{recent}"):
        start_fine_tuning(engine, cliente_id, "ana")
    assert fake_openai.calls == []


def test_concurrent_starts_from_separate_processes_create_one_job(engine, fake_openai,
                                                                   migrated_url, files_dir):
    import os
    import subprocess
    import sys
    from pathlib import Path

    if engine.dialect.name != "postgresql":
        pytest.skip("separate processes race on the production database (PostgreSQL)")
    make_cliente(engine)
    fake_openai.create_delay = 1.0
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DATABASE_URL": migrated_url}
    procs = [subprocess.Popen([sys.executable, "-m", "core", "finetune", "start", "--cliente",
                               "loja-do-joao", "--yes", "--usuario", f"proc{n}"],
                              cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for n in range(4)]
    outcomes = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    winners = [o for o in outcomes if o[0] == 0]
    losers = [o for o in outcomes if o[0] != 0]
    assert len(winners) == 1, outcomes
    assert all("Já existe um fine-tuning em andamento" in err for _, _, err in losers), outcomes
    assert len(fake_openai.jobs) == 1 and fake_openai.route_calls("jobs.create") == 1
    [row] = _rows(engine)
    assert row.status == "pending"


def test_a_lost_create_answer_still_gives_one_pending_row_with_the_job(engine, fake_openai):
    cliente_id = make_cliente(engine)
    fake_openai.fail("jobs.create", "lost_response", delay=3.0)
    result = start_fine_tuning(engine, cliente_id, "ana")
    [row] = _rows(engine)
    job = fake_openai.only_job()
    assert row.status == "pending" and row.openai_job_id == job["id"] == result.openai_job_id


def _page_block(session, cliente_id):
    from core.finetune.jobs import summarize_fine_tuning

    return next(c for c in summarize_fine_tuning(session) if c.cliente_id == cliente_id)


def test_the_page_and_the_start_name_the_same_first_reason(engine, fake_openai):
    cliente_id = make_cliente(engine, boas=5, ruins=1)  # not ready AND a job open
    recent = _old_pending_row(engine, cliente_id, 5)
    with session_scope(engine) as session:
        item = _page_block(session, cliente_id)
    assert f"job #{recent}, pendente" in item.bloqueio and item.job_aberto.id == recent
    with pytest.raises(JobAlreadyOpen, match=f"#{recent}"):
        start_fine_tuning(engine, cliente_id, "ana")


def test_an_interrupted_start_no_longer_disables_the_page_button(engine, fake_openai):
    cliente_id = make_cliente(engine)
    stale = _old_pending_row(engine, cliente_id, 31)
    with session_scope(engine) as session:
        item = _page_block(session, cliente_id)
    assert item.pode_iniciar and item.job_aberto is None
    assert {r.id: r.status for r in _rows(engine)} == {stale: "failed"}
