"""The OpenAI provider against the local fake API, through the real openai SDK."""
from __future__ import annotations

import json

import pytest

from core import config as config_module
from core.finetune.provider import (
    FileRejected,
    FineTuningRefused,
    InvalidApiKey,
    JobNotFound,
    MissingApiKey,
    ModelRetired,
    ProviderUnavailable,
    RateLimited,
)
from core.finetune.providers.openai import progress_from_events
from core.finetune.registry import get_provider

MODEL = "gpt-4o-mini-2024-07-18"


def _jsonl(tmp_path, n=10):
    path = tmp_path / "train.jsonl"
    lines = [json.dumps({"messages": [{"role": "system", "content": "Olá"},
                                      {"role": "user", "content": f"pergunta {i}"},
                                      {"role": "assistant", "content": f"resposta {i}"}]},
                        ensure_ascii=False) for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _start(provider, tmp_path, **kw):
    file_id = provider.upload_file(_jsonl(tmp_path))
    return provider.create_job(training_file=file_id, validation_file=kw.get("val"),
                               model=kw.get("model", MODEL), suffix="loja-do-joao",
                               metadata={"curadoria_job_id": "7"})


def test_upload_keeps_the_exact_bytes_with_purpose_fine_tune(fake_openai, tmp_path):
    provider = get_provider()
    path = _jsonl(tmp_path)
    file_id = provider.upload_file(path)
    assert fake_openai.uploaded(file_id) == path.read_bytes()
    assert fake_openai.files[file_id]["purpose"] == "fine-tune"


def test_create_job_sends_supervised_method_suffix_metadata_and_validation(fake_openai,
                                                                            tmp_path):
    provider = get_provider()
    val = provider.upload_file(_jsonl(tmp_path, 3))
    job = _start(provider, tmp_path, val=val)
    raw = fake_openai.only_job()
    assert raw["method"]["type"] == "supervised"
    assert raw["user_provided_suffix"] == "loja-do-joao"
    assert raw["metadata"] == {"curadoria_job_id": "7"}
    assert raw["validation_file"] == val
    assert job.status == "validating_files" and job.seed_status == "pending"
    assert job.metadata == {"curadoria_job_id": "7"}


def test_get_job_reads_progress_from_step_events_then_success(fake_openai, tmp_path):
    provider = get_provider()
    job = _start(provider, tmp_path)
    fake_openai.set_status(job.id, "queued")
    assert provider.get_job(job.id).seed_status == "pending"
    fake_openai.step(job.id, 25, 100)
    fake_openai.step(job.id, 40, 100)
    running = provider.get_job(job.id)
    assert running.seed_status == "running" and running.progress == 40
    fake_openai.succeed(job.id, trained_tokens=999)
    done = provider.get_job(job.id)
    assert done.seed_status == "succeeded" and done.trained_tokens == 999
    assert done.fine_tuned_model.startswith(f"ft:{MODEL}:")


def test_a_failed_job_carries_the_provider_error(fake_openai, tmp_path):
    provider = get_provider()
    job = _start(provider, tmp_path)
    fake_openai.fail_job(job.id, code="invalid_training_file", message="Arquivo ruim")
    failed = provider.get_job(job.id)
    assert failed.seed_status == "failed"
    assert "Arquivo ruim" in failed.error_message and "invalid_training_file" in failed.error_message


def test_cancel_job_cancels_at_the_provider(fake_openai, tmp_path):
    provider = get_provider()
    job = _start(provider, tmp_path)
    assert provider.cancel_job(job.id).seed_status == "cancelled"


def test_progress_comes_from_the_newest_step_event():
    assert progress_from_events(["Step 30/60: loss", "Step 10/60: loss"]) == 50
    assert progress_from_events(["Validating training file"]) is None


def test_missing_key_raises_a_portuguese_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config_module.reset_settings()
    try:
        with pytest.raises(MissingApiKey, match="Nenhuma chave da API da OpenAI"):
            get_provider()
    finally:
        config_module.reset_settings()


@pytest.mark.parametrize("route, kind, error, text", [
    ("jobs.create", "invalid_key", InvalidApiKey, "chave da API da OpenAI foi recusada"),
    ("jobs.create", "refusal", FineTuningRefused, "recusou o fine-tuning"),
    ("jobs.create", "permission", FineTuningRefused, "recusou o fine-tuning"),
    ("jobs.create", "model_not_available", ModelRetired, "não está mais disponível"),
    ("jobs.create", "invalid_file", FileRejected, "rejeitou o arquivo"),
    ("jobs.create", "rate_limit", RateLimited, "limitou as requisições"),
    ("jobs.create", "server_error", ProviderUnavailable, "indisponível"),
    ("jobs.create", "unavailable", ProviderUnavailable, "indisponível"),
    ("jobs.create", "slow", ProviderUnavailable, "tempo esgotado"),
    ("files.create", "invalid_file", FileRejected, "rejeitou o arquivo"),
    ("files.create", "unavailable", ProviderUnavailable, "indisponível"),
])
def test_each_api_error_becomes_its_portuguese_provider_error(fake_openai, tmp_path, route,
                                                              kind, error, text):
    provider = get_provider()
    fake_openai.fail(route, kind, delay=3.0 if kind == "slow" else 0.0)
    with pytest.raises(error, match=text):
        _start(provider, tmp_path)
    assert error.transient == (error in (RateLimited, ProviderUnavailable))


def test_a_wrong_key_is_refused_by_the_fake_like_the_api(fake_openai, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    config_module.reset_settings()
    with pytest.raises(InvalidApiKey):
        get_provider().upload_file(_jsonl(tmp_path))


def test_an_unknown_job_is_job_not_found(fake_openai):
    with pytest.raises(JobNotFound, match="ftjob-nope"):
        get_provider().get_job("ftjob-nope")


def test_sdk_retries_a_429_with_retry_after_when_retries_are_allowed(fake_openai, monkeypatch,
                                                                      tmp_path):
    monkeypatch.setenv("CURADORIA_OPENAI_MAX_RETRIES", "2")
    config_module.reset_settings()
    provider = get_provider()
    fake_openai.fail("jobs.create", "rate_limit", times=1)
    job = _start(provider, tmp_path)
    assert job.id in fake_openai.jobs
    assert fake_openai.route_calls("jobs.create") == 2


def test_a_model_the_provider_no_longer_has_is_model_retired(fake_openai, tmp_path):
    with pytest.raises(ModelRetired, match="gpt-3.5-turbo-0125"):
        _start(get_provider(), tmp_path, model="gpt-3.5-turbo-0125")


def test_the_fake_lists_jobs_and_serves_file_content_like_the_api(fake_openai, tmp_path):
    import openai

    client = openai.OpenAI(api_key=fake_openai.api_key, base_url=fake_openai.base_url,
                           max_retries=0)
    path = _jsonl(tmp_path)
    uploaded = client.files.create(file=path.open("rb"), purpose="fine-tune")
    assert client.files.content(uploaded.id).read() == path.read_bytes()
    job = client.fine_tuning.jobs.create(training_file=uploaded.id, model=MODEL,
                                         method={"type": "supervised"})
    assert [j.id for j in client.fine_tuning.jobs.list().data] == [job.id]
    fake_openai.step(job.id, 3, 10)
    events = client.fine_tuning.jobs.list_events(job.id).data
    assert events[0].message.startswith("Step 3/10")
    with pytest.raises(openai.NotFoundError):
        client.files.content("file-nope")


def test_a_lost_create_answer_adopts_the_job_instead_of_creating_a_second(fake_openai,
                                                                          monkeypatch, tmp_path):
    monkeypatch.setenv("CURADORIA_OPENAI_MAX_RETRIES", "2")
    config_module.reset_settings()
    provider = get_provider()
    fake_openai.fail("jobs.create", "lost_response", delay=3.0)
    job = _start(provider, tmp_path)
    assert len(fake_openai.jobs) == 1 and job.id in fake_openai.jobs
    assert fake_openai.route_calls("jobs.create") == 1  # never retried blindly


def test_a_create_timeout_with_no_job_at_the_provider_says_where_to_look(fake_openai,
                                                                         tmp_path):
    fake_openai.fail("jobs.create", status=500, delay=3.0)  # slow, then an error: no job
    with pytest.raises(ProviderUnavailable, match="curadoria_job_id=7"):
        _start(get_provider(), tmp_path)
    assert fake_openai.jobs == {}


def test_create_retries_a_server_error_itself(fake_openai, monkeypatch, tmp_path):
    monkeypatch.setenv("CURADORIA_OPENAI_MAX_RETRIES", "1")
    config_module.reset_settings()
    fake_openai.fail("jobs.create", "unavailable", times=1)
    job = _start(get_provider(), tmp_path)
    assert job.id in fake_openai.jobs and fake_openai.route_calls("jobs.create") == 2
