"""The Together AI provider against the local fake API, through the real together SDK."""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal

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
from core.finetune.providers.together import (
    AdapterInvalid,
    AdapterNotReady,
    CreditsExhausted,
    base_models,
    clean_suffix,
    get_together_provider,
    progress_from_events,
)
from tests.fake_together import FakeTogether, adapter_archive

BASE = "Qwen/Qwen3.5-9B"


@pytest.fixture
def fake_together(monkeypatch):
    fake = FakeTogether().start()
    monkeypatch.setenv("TOGETHER_API_KEY", fake.api_key)
    monkeypatch.setenv("TOGETHER_BASE_URL", fake.base_url)
    config_module.reset_settings()
    yield fake
    fake.stop()
    config_module.reset_settings()


@pytest.fixture
def make_provider(fake_together):
    """A provider on the fake, fast: short timeout, quick polling, recorded sleeps."""
    def make(*, max_retries=0, timeout=10.0, **options):
        sleeps: list[float] = []
        options.setdefault("poll_interval", 0.01)
        options.setdefault("processing_timeout", 5.0)
        provider = get_together_provider(timeout=timeout, max_retries=max_retries,
                                         sleep=sleeps.append, **options)
        provider.sleeps = sleeps
        return provider
    return make


@pytest.fixture
def provider(make_provider):
    return make_provider()


def _jsonl(tmp_path, n=12, *, name="train.jsonl", assistant=True):
    path = tmp_path / name
    lines = []
    for i in range(n):
        messages = [{"role": "system", "content": "Você é o atendente da Loja do João."},
                    {"role": "user", "content": f"Vocês entregam no bairro {i}?"}]
        if assistant:
            messages.append({"role": "assistant", "content": f"Entregamos sim, pedido {i}."})
        lines.append(json.dumps({"messages": messages}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _start(provider, tmp_path, *, model=BASE, suffix="loja-do-joao"):
    file_id = provider.upload_file(_jsonl(tmp_path))
    return provider.create_job(training_file=file_id, validation_file=None, model=model,
                               suffix=suffix, metadata={"curadoria_job_id": "7"})


# --- upload ------------------------------------------------------------------------------
def test_upload_posts_the_form_follows_the_302_puts_the_exact_bytes_and_preprocesses(
        fake_together, provider, tmp_path):
    path = _jsonl(tmp_path)
    file_id = provider.upload_file(path)
    routes = [route for route, _ in fake_together.calls]
    assert routes[:3] == ["files.create", "files.put", "files.preprocess"]
    assert fake_together.uploaded(file_id) == path.read_bytes()
    form = fake_together.last_body("files.create")
    assert form == {"purpose": "fine-tune", "file_name": "train.jsonl", "file_type": "jsonl",
                    "checksum": hashlib.sha256(path.read_bytes()).hexdigest()}
    assert fake_together.files[file_id]["processing_status"] == "COMPLETED"


def test_upload_waits_until_together_has_validated_the_file(fake_together, provider,
                                                            tmp_path):
    fake_together.processing_steps = ["QUEUED", "RUNNING", "RUNNING", "COMPLETED"]
    provider.upload_file(_jsonl(tmp_path))
    assert fake_together.route_calls("files.retrieve") == 4
    assert provider.sleeps == [0.01, 0.01, 0.01]


def test_a_file_together_finds_invalid_is_rejected_with_its_reason(fake_together, provider,
                                                                   tmp_path):
    with pytest.raises(FileRejected, match="recusou o arquivo de treinamento na validação: "
                                           "Line 1: no assistant message"):
        provider.upload_file(_jsonl(tmp_path, assistant=False))


def test_a_forced_invalid_format_carries_the_reason_together_gave(fake_together, provider,
                                                                  tmp_path):
    fake_together.invalid_reason = "Sequence length exceeds the model maximum on line 7"
    with pytest.raises(FileRejected, match="line 7"):
        provider.upload_file(_jsonl(tmp_path))


@pytest.mark.parametrize("content, reason", [
    ("", "File is empty"),
    ('[1, 2]\n{"messages": []}\n', "Each line must be a JSON object"),
    ("{not json\n", "Error parsing json payload"),
])
def test_the_sdk_file_check_rejects_a_bad_file_before_anything_is_sent(
        fake_together, provider, tmp_path, content, reason):
    path = tmp_path / "train.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FileRejected, match="verificação do SDK da Together") as info:
        provider.upload_file(path)
    assert reason in str(info.value)
    assert fake_together.calls == []


def test_a_validation_that_fails_on_together_side_is_transient(fake_together, provider,
                                                               tmp_path):
    fake_together.processing_steps = ["FAILED"]
    with pytest.raises(ProviderUnavailable, match="não conseguiu validar") as info:
        provider.upload_file(_jsonl(tmp_path))
    assert info.value.transient


def test_a_validation_that_never_ends_gives_up_as_transient(fake_together, make_provider,
                                                            tmp_path):
    provider = make_provider(processing_timeout=0.05)
    fake_together.processing_steps = ["RUNNING"] * 10_000
    with pytest.raises(ProviderUnavailable, match="ainda está validando"):
        provider.upload_file(_jsonl(tmp_path))


# --- price ---------------------------------------------------------------------------------
def test_estimate_price_gives_dollars_and_reais_for_a_lora_sft_job(fake_together, provider,
                                                                   tmp_path):
    path = _jsonl(tmp_path)
    file_id = provider.upload_file(path)
    est = provider.estimate_price(training_file=file_id, model=BASE)
    tokens = -(-path.stat().st_size // 4) * 3
    assert est.available and est.train_tokens == tokens
    assert est.usd == Decimal(str(round(tokens / 1e6 * 0.48, 6))).quantize(Decimal("0.01"))
    assert est.brl == (est.usd * Decimal("5.40")).quantize(Decimal("0.01"))
    assert est.allowed_to_proceed is True and est.user_limit_usd == Decimal("100.00")
    body = fake_together.last_body("estimate")
    assert body["n_epochs"] == 3 and body["training_method"] == {"method": "sft",
                                                                "train_on_inputs": "auto"}


def test_a_big_job_is_flagged_as_above_the_credit_limit(fake_together, provider, tmp_path):
    fake_together.user_limit = 0.0
    file_id = provider.upload_file(_jsonl(tmp_path, 200))
    est = provider.estimate_price(training_file=file_id, model=BASE)
    assert est.allowed_to_proceed is False


def test_an_unavailable_estimate_says_why_in_portuguese(fake_together, provider, tmp_path):
    file_id = provider.upload_file(_jsonl(tmp_path))
    fake_together.estimation_unavailable = "train_file_not_validated"
    est = provider.estimate_price(training_file=file_id, model=BASE)
    assert not est.available and est.usd is None and est.brl is None
    assert est.motivo_indisponivel == ("A Together AI não estimou o preço: o arquivo de "
                                       "treinamento ainda está sendo validado.")


def test_estimating_for_a_model_together_does_not_train_is_model_retired(
        fake_together, provider, tmp_path):
    file_id = provider.upload_file(_jsonl(tmp_path))
    with pytest.raises(ModelRetired, match="gpt-4o-mini"):
        provider.estimate_price(training_file=file_id, model="gpt-4o-mini")


# --- create --------------------------------------------------------------------------------
def test_create_job_starts_a_lora_sft_job_on_the_base_model_with_the_slug_as_suffix(
        fake_together, provider, tmp_path):
    job = _start(provider, tmp_path)
    body = fake_together.last_body("jobs.create")
    assert body["model"] == BASE and body["suffix"] == "loja-do-joao"
    assert body["training_type"]["type"] == "Lora" and body["training_type"]["lora_r"] == 64
    assert body["training_method"] == {"method": "sft", "train_on_inputs": "auto"}
    assert body["n_epochs"] == 3
    assert job.status == "pending" and job.seed_status == "pending"
    assert job.model == BASE and job.fine_tuned_model.startswith("curadoria-team/Qwen3.5-9B-")
    assert [fake_together.route_calls(r) for r in ("limits", "estimate", "jobs.create")] == \
        [1, 1, 1]


def test_epochs_are_clamped_to_the_model_limit(fake_together, provider, tmp_path):
    file_id = provider.upload_file(_jsonl(tmp_path))
    provider.create_job(training_file=file_id, validation_file=None, model=BASE,
                        suffix="x", metadata={}, n_epochs=50)
    assert fake_together.last_body("jobs.create")["n_epochs"] == 20


def test_the_suffix_is_the_slug_made_safe_and_at_most_40_characters(fake_together, provider,
                                                                    tmp_path):
    job = _start(provider, tmp_path,
                 suffix="Padaria São João & Filhos — Unidade Centro, Zona Sul 2026")
    sent = fake_together.last_body("jobs.create")["suffix"]
    assert sent == "padaria-sao-joao-filhos-unidade-centro-z" and len(sent) == 40
    assert job.metadata == {"suffix": sent}
    assert clean_suffix("!!!") == "curadoria"


def test_a_base_model_together_does_not_train_is_model_retired_and_creates_nothing(
        fake_together, provider, tmp_path):
    with pytest.raises(ModelRetired, match="Llama-2-70b"):
        _start(provider, tmp_path, model="meta-llama/Llama-2-70b-hf")
    assert fake_together.jobs == {}


def test_a_create_whose_answer_is_lost_finds_the_job_instead_of_making_another(
        fake_together, make_provider, tmp_path):
    file_id = make_provider().upload_file(_jsonl(tmp_path))
    provider = make_provider(max_retries=2, timeout=1.0)
    fake_together.fail("jobs.create", "lost_response", delay=3.0)
    job = provider.create_job(training_file=file_id, validation_file=None, model=BASE,
                              suffix="loja-do-joao", metadata={})
    assert job.id == fake_together.only_job()["id"]
    assert fake_together.route_calls("jobs.create") == 1
    assert fake_together.route_calls("jobs.list") == 1


def test_a_create_that_never_reached_together_is_retried_and_makes_exactly_one_job(
        fake_together, make_provider, tmp_path):
    file_id = make_provider().upload_file(_jsonl(tmp_path))
    provider = make_provider(max_retries=2, timeout=1.0)
    fake_together.fail("jobs.create", "timeout", delay=3.0)
    job = provider.create_job(training_file=file_id, validation_file=None, model=BASE,
                              suffix="loja-do-joao", metadata={})
    assert job.id == fake_together.only_job()["id"]
    assert fake_together.route_calls("jobs.create") == 2
    assert fake_together.route_calls("jobs.list") == 1


def test_a_rate_limited_create_waits_the_retry_after_and_makes_one_job(
        fake_together, make_provider, tmp_path):
    provider = make_provider(max_retries=2)
    file_id = provider.upload_file(_jsonl(tmp_path))
    provider.sleeps.clear()
    fake_together.fail("jobs.create", "rate_limit", headers={"retry-after": "7"})
    provider.create_job(training_file=file_id, validation_file=None, model=BASE,
                        suffix="loja", metadata={})
    assert provider.sleeps == [7.0]
    assert len(fake_together.jobs) == 1 and fake_together.route_calls("jobs.list") == 0


def test_a_create_failing_on_every_attempt_says_where_a_job_would_show(
        fake_together, make_provider, tmp_path):
    provider = make_provider(max_retries=2)
    file_id = provider.upload_file(_jsonl(tmp_path))
    fake_together.fail("jobs.create", "unavailable", times=3)
    with pytest.raises(ProviderUnavailable, match="sufixo loja-do-joao") as info:
        provider.create_job(training_file=file_id, validation_file=None, model=BASE,
                            suffix="loja-do-joao", metadata={})
    assert info.value.transient and fake_together.jobs == {}
    assert fake_together.route_calls("jobs.create") == 3


def test_find_job_recovers_the_job_of_a_training_file_after_a_crash(fake_together, provider,
                                                                     tmp_path):
    job = _start(provider, tmp_path)
    found = provider.find_job(training_file=job.training_file, suffix="loja-do-joao",
                              model=BASE)
    assert found is not None and found.id == job.id
    assert provider.find_job(training_file="file-other", suffix="loja-do-joao",
                             model=BASE) is None


# --- follow --------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, seed", [
    ("pending", "pending"), ("queued", "pending"), ("running", "running"),
    ("compressing", "running"), ("uploading", "running"), ("cancel_requested", "running"),
    ("completed", "succeeded"), ("error", "failed"), ("user_error", "failed"),
    ("cancelled", "cancelled"),
])
def test_every_together_status_maps_to_a_seed_status(fake_together, provider, tmp_path, raw,
                                                     seed):
    job = _start(provider, tmp_path)
    if raw == "completed":
        fake_together.complete(job.id)
    else:
        fake_together.set_status(job.id, raw)
    got = provider.get_job(job.id)
    assert got.status == raw and got.seed_status == seed


def test_progress_comes_from_the_newest_step_event_and_success_is_100(fake_together,
                                                                      provider, tmp_path):
    job = _start(provider, tmp_path)
    fake_together.set_status(job.id, "queued")
    assert provider.get_job(job.id).progress is None
    fake_together.step(job.id, 25, 100)
    fake_together.step(job.id, 40, 100, seconds_remaining=600)
    running = provider.get_job(job.id)
    assert running.seed_status == "running" and running.progress == 40
    assert running.estimated_finish is not None
    fake_together.set_status(job.id, "compressing")
    assert provider.get_job(job.id).progress == 40
    fake_together.complete(job.id, token_count=98_765)
    done = provider.get_job(job.id)
    assert done.progress == 100 and done.trained_tokens == 98_765


def test_progress_reads_the_newest_step_whatever_the_event_order():
    events = [{"created_at": "2026-12-01T10:00:02Z", "step": 30, "total_steps": 60},
              {"created_at": "2026-12-01T10:00:01Z", "step": 10, "total_steps": 60},
              {"created_at": "2026-12-01T10:00:03Z", "message": "no step here"}]
    assert progress_from_events(events) == 50
    assert progress_from_events(list(reversed(events))) == 50
    assert progress_from_events([{"step": 3, "total_steps": 0}]) is None


def test_a_failed_job_carries_the_error_event_message(fake_together, provider, tmp_path):
    job = _start(provider, tmp_path)
    fake_together.step(job.id, 5, 100)
    fake_together.fail_job(job.id, "Training failed: CUDA out of memory")
    failed = provider.get_job(job.id)
    assert failed.seed_status == "failed"
    assert failed.error_message == "Training failed: CUDA out of memory"


def test_cancel_asks_together_and_a_finished_job_is_left_as_it_is(fake_together, provider,
                                                                  tmp_path):
    job = _start(provider, tmp_path)
    fake_together.step(job.id, 5, 100)
    asked = provider.cancel_job(job.id)
    assert asked.status == "cancel_requested" and asked.seed_status == "running"
    fake_together.set_status(job.id, "cancelled")
    assert provider.get_job(job.id).seed_status == "cancelled"
    other = _start(provider, tmp_path, suffix="outra")
    fake_together.complete(other.id)
    assert provider.cancel_job(other.id).seed_status == "succeeded"


# --- faults --------------------------------------------------------------------------------
def _action(route):
    """What to run so that the given route is called (on a prepared, completed job)."""
    def upload(p, fake, tmp_path, job):
        p.upload_file(_jsonl(tmp_path, name="other.jsonl"))
    return {
        "files.create": upload, "files.put": upload, "files.preprocess": upload,
        "files.retrieve": upload,
        "limits": lambda p, f, t, job: p.create_job(
            training_file=job.training_file, validation_file=None, model=BASE, suffix="x",
            metadata={}),
        "estimate": lambda p, f, t, job: p.estimate_price(training_file=job.training_file,
                                                          model=BASE),
        "jobs.create": lambda p, f, t, job: p.create_job(
            training_file=job.training_file, validation_file=None, model=BASE, suffix="x",
            metadata={}),
        "jobs.retrieve": lambda p, f, t, job: p.get_job(job.id),
        "jobs.events": lambda p, f, t, job: p.get_job(job.id),
        "jobs.cancel": lambda p, f, t, job: p.cancel_job(job.id),
        "download": lambda p, f, t, job: p.download_adapter(job.id, t / "adapters" / "a",
                                                            base_model=BASE),
    }[route]


@pytest.mark.parametrize("route, kind, error, text", [
    ("jobs.create", "invalid_key", InvalidApiKey, "Confira TOGETHER_API_KEY"),
    ("jobs.create", "permission", FineTuningRefused, "recusou o fine-tuning"),
    ("jobs.create", "payment", CreditsExhausted, "sem créditos"),
    ("jobs.create", "rate_limit", RateLimited, "limitou as requisições"),
    ("jobs.create", "server_error", ProviderUnavailable, "indisponível no momento (erro 500)"),
    ("jobs.create", "unavailable", ProviderUnavailable, "indisponível no momento (erro 503)"),
    ("jobs.create", "timeout", ProviderUnavailable, "tempo esgotado"),
    ("jobs.create", "drop", ProviderUnavailable, "conectar à API da Together"),
    ("jobs.create", "bad_request", FileRejected, "recusou o pedido de fine-tuning"),
    ("limits", "permission", FineTuningRefused, "recusou o fine-tuning"),
    ("estimate", "rate_limit", RateLimited, "limitou as requisições"),
    ("files.create", "invalid_key", InvalidApiKey, "Confira TOGETHER_API_KEY"),
    ("files.create", "unavailable", ProviderUnavailable, "erro 503"),
    ("files.put", "server_error", ProviderUnavailable, "envio para a Together AI falhou"),
    ("files.preprocess", "server_error", ProviderUnavailable, "erro 500"),
    ("files.retrieve", "rate_limit", RateLimited, "limitou as requisições"),
    ("jobs.retrieve", "not_found", JobNotFound, "não foi encontrado na Together"),
    ("jobs.retrieve", "invalid_key", InvalidApiKey, "Confira TOGETHER_API_KEY"),
    ("jobs.retrieve", "slow", ProviderUnavailable, "tempo esgotado"),
    ("jobs.events", "unavailable", ProviderUnavailable, "erro 503"),
    ("jobs.cancel", "permission", FineTuningRefused, "recusou o fine-tuning"),
    ("download", "server_error", ProviderUnavailable, "erro 500"),
    ("download", "drop", ProviderUnavailable, "conectar à API da Together"),
])
def test_each_injected_fault_becomes_the_right_portuguese_error(
        fake_together, make_provider, tmp_path, route, kind, error, text):
    job = _start(make_provider(), tmp_path)
    fake_together.step(job.id, 1, 10)
    if route == "download":
        fake_together.complete(job.id)
    late = kind in ("slow", "timeout")
    fake_together.fail(route, kind, delay=3.0 if late else 0.0)
    provider = make_provider(timeout=1.0 if late else 10.0)
    with pytest.raises(error) as info:
        _action(route)(provider, fake_together, tmp_path, job)
    assert text in str(info.value)
    assert isinstance(info.value, ProviderUnavailable | RateLimited) == info.value.transient


def test_the_sdk_own_retries_absorb_a_passing_429(fake_together, make_provider, tmp_path):
    provider = make_provider(max_retries=2)
    job = _start(provider, tmp_path)
    fake_together.fail("jobs.retrieve", "rate_limit", headers={"retry-after": "0.05"})
    assert provider.get_job(job.id).id == job.id
    assert fake_together.route_calls("jobs.retrieve") == 2


def test_missing_key_raises_a_portuguese_error(monkeypatch):
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    config_module.reset_settings()
    try:
        with pytest.raises(MissingApiKey, match="Defina a variável de ambiente "
                                                "TOGETHER_API_KEY"):
            get_together_provider()
    finally:
        config_module.reset_settings()


def test_the_base_model_catalogue_comes_from_the_setting(monkeypatch):
    monkeypatch.setenv("CURADORIA_MODELOS_BASE_TOGETHER", " Qwen/Qwen3.5-9B , org/outro ,")
    config_module.reset_settings()
    try:
        assert base_models() == ["Qwen/Qwen3.5-9B", "org/outro"]
    finally:
        config_module.reset_settings()


def test_the_default_catalogue_starts_with_qwen35_9b():
    assert base_models(config_module.Settings())[0] == "Qwen/Qwen3.5-9B"


# --- adapter download --------------------------------------------------------------------
def _completed(provider, fake, tmp_path, archive=None):
    job = _start(provider, tmp_path)
    fake.complete(job.id, archive=archive)
    return job


@pytest.mark.parametrize("redirect", [False, True])
def test_download_unpacks_and_verifies_the_adapter(fake_together, provider, tmp_path,
                                                   redirect):
    fake_together.download_redirect = redirect
    job = _completed(provider, fake_together, tmp_path)
    dest = tmp_path / "adapters" / "curadoria-loja-job7"
    path = provider.download_adapter(job.id, dest, base_model=BASE)
    assert path == dest
    assert sorted(p.name for p in dest.iterdir()) == ["adapter_config.json",
                                                      "adapter_model.safetensors"]
    config = json.loads((dest / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == BASE
    assert [p.name for p in dest.parent.iterdir()] == ["curadoria-loja-job7"]  # no leftovers
    assert fake_together.route_calls("blob") == (1 if redirect else 0)


@pytest.mark.parametrize("archive", [
    adapter_archive(BASE, prefix="adapter/"),
    adapter_archive(BASE, compression="gzip"),
    adapter_archive(BASE, compression="none"),
])
def test_download_accepts_a_nested_folder_gzip_or_plain_tar(fake_together, provider,
                                                            tmp_path, archive):
    job = _completed(provider, fake_together, tmp_path, archive)
    dest = provider.download_adapter(job.id, tmp_path / "adapters" / "a", base_model=BASE)
    assert (dest / "adapter_model.safetensors").is_file()


def test_download_reads_the_base_model_from_the_job_when_not_given(fake_together, provider,
                                                                   tmp_path):
    job = _completed(provider, fake_together, tmp_path)
    dest = provider.download_adapter(job.id, tmp_path / "adapters" / "a")
    assert (dest / "adapter_config.json").is_file()


def test_a_verified_adapter_already_on_disk_is_not_downloaded_again(fake_together, provider,
                                                                    tmp_path):
    job = _completed(provider, fake_together, tmp_path)
    dest = tmp_path / "adapters" / "a"
    provider.download_adapter(job.id, dest, base_model=BASE)
    provider.download_adapter(job.id, dest, base_model=BASE)
    assert fake_together.route_calls("download") == 1


@pytest.mark.parametrize("kind, text", [
    ("corrupt", "corrompido ou incompleto"),
    ("truncated", "corrompido ou incompleto"),
    ("wrong_base", "treinado sobre meta-llama/Llama-2-7b-hf, mas o modelo base esperado é "
                   "Qwen/Qwen3.5-9B"),
    ("traversal", "caminho inseguro ('../../escaped.txt')"),
    ("absolute", "caminho inseguro ('/tmp/curadoria-absolute.txt')"),
    ("symlink", "não é um arquivo comum"),
    ("missing_weights", "falta adapter_model.safetensors"),
    ("no_config", "não contém adapter_config.json"),
    ("bad_weights", "safetensors do adaptador está corrompido"),
])
def test_a_bad_adapter_archive_is_refused_and_leaves_nothing_behind(
        fake_together, provider, tmp_path, kind, text):
    job = _completed(provider, fake_together, tmp_path, adapter_archive(BASE, kind=kind))
    dest = tmp_path / "adapters" / "x" / "curadoria-loja-job7"
    with pytest.raises(AdapterInvalid) as info:
        provider.download_adapter(job.id, dest, base_model=BASE)
    assert text in str(info.value) and not info.value.transient
    assert list(dest.parent.iterdir()) == []
    assert not (tmp_path / "adapters" / "escaped.txt").exists()
    assert not (tmp_path / "escaped.txt").exists()
    assert not any(tmp_path.rglob("escaped.txt"))


def test_the_absolute_member_is_never_written_outside(fake_together, provider, tmp_path):
    import pathlib
    target = pathlib.Path("/tmp/curadoria-absolute.txt")
    target.unlink(missing_ok=True)
    job = _completed(provider, fake_together, tmp_path, adapter_archive(BASE, kind="absolute"))
    with pytest.raises(AdapterInvalid):
        provider.download_adapter(job.id, tmp_path / "a", base_model=BASE)
    assert not target.exists()


def test_size_caps_refuse_an_oversized_download_or_unpacking(fake_together, provider,
                                                             tmp_path):
    job = _completed(provider, fake_together, tmp_path)
    with pytest.raises(AdapterInvalid, match="no download"):
        provider.download_adapter(job.id, tmp_path / "a", base_model=BASE,
                                  max_archive_bytes=100)
    with pytest.raises(AdapterInvalid, match="descompactado passou"):
        provider.download_adapter(job.id, tmp_path / "a", base_model=BASE,
                                  max_unpacked_bytes=100)
    assert not (tmp_path / "a").exists()


def test_downloading_before_the_job_finished_is_not_ready_yet(fake_together, provider,
                                                              tmp_path):
    job = _start(provider, tmp_path)
    fake_together.step(job.id, 3, 10)
    with pytest.raises(AdapterNotReady, match="ainda não entrega os pesos") as info:
        provider.download_adapter(job.id, tmp_path / "a", base_model=BASE)
    assert info.value.transient


def test_a_file_together_already_has_is_reused_without_a_second_upload(fake_together,
                                                                      provider, tmp_path):
    fake_together.dedupe_by_checksum = True
    path = _jsonl(tmp_path)
    first = provider.upload_file(path)
    assert provider.upload_file(path) == first
    assert fake_together.route_calls("files.put") == 1
    assert fake_together.route_calls("files.create") == 2


def test_a_base_url_given_with_v1_still_reaches_the_api(fake_together, monkeypatch):
    monkeypatch.setenv("TOGETHER_BASE_URL", fake_together.base_url + "/v1/")
    config_module.reset_settings()
    provider = get_together_provider(max_retries=0)
    assert provider.find_job(training_file="file-x", suffix="x", model=BASE) is None
    assert fake_together.route_calls("jobs.list") == 1


# --- the adapter served from the team's vLLM ----------------------------------------------
def test_an_adapter_downloaded_from_together_loads_and_answers_on_vllm(
        fake_together, provider, monkeypatch, tmp_path):
    from core.finetune.vllm import adapter_name, get_vllm_client
    from tests.fake_vllm import DEFAULT_ANSWER, FakeVllm

    fake_vllm = FakeVllm().start()
    try:
        monkeypatch.setenv("CURADORIA_VLLM_URL", fake_vllm.base_url)
        config_module.reset_settings()
        vllm = get_vllm_client(timeout=10.0, max_retries=0)
        job = _start(provider, tmp_path, suffix="loja")
        fake_together.complete(job.id)
        name = adapter_name("loja", 7)
        path = provider.download_adapter(job.id, tmp_path / "adapters" / name,
                                         base_model=job.model)
        vllm.check_base_model(job.model)
        vllm.load_adapter(name, path)
        assert vllm.smoke_test(name) == DEFAULT_ANSWER
    finally:
        fake_vllm.stop()
