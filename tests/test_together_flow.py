"""Issue 16 acceptance: a cliente on Together, from the start to its LoRA adapter answering
on the team's vLLM, with both Redis keys the bot reads; the real together and openai SDKs
against tests/fake_together.py and tests/fake_vllm.py, the real database and Redis."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import openai
import pytest
from sqlalchemy import func, select

from core import config as config_module
from core.db import session_scope
from core.db.tables import Cliente, FineTuningJob, ModeloHistorico, Notificacao
from core.errors import InvalidInput
from core.finetune.choice import set_fine_tuning_provider
from core.finetune.deploy import (
    apply_model,
    redis_endpoint_key,
    redis_model_key,
    rollback_model,
)
from core.finetune.provider import FileRejected
from core.finetune.registry import get_provider
from core.finetune.start import JobAlreadyOpen, preview_fine_tuning, start_fine_tuning
from core.finetune.vllm import adapter_name
from core.poller.cycle import run_cycle
from tests.conftest import REDIS_TEST_URL
from tests.fake_together import FakeTogether, adapter_archive
from tests.fake_vllm import DEFAULT_ANSWER, FakeVllm
from tests.finetune_helpers import make_cliente

ROOT = Path(__file__).resolve().parent.parent
BASE = "Qwen/Qwen3.5-9B"
SLUG = "loja-do-joao"
VLLM_BOT_URL = "http://vllm.interno:8000/v1"


@pytest.fixture
def fakes(monkeypatch, tmp_path):
    """Fake Together and fake vLLM, the settings pointing at them, no evaluation gate."""
    together_fake = FakeTogether().start()
    together_fake.processing_steps = ["COMPLETED"]  # validated at the first look: no wait
    vllm_fake = FakeVllm().start()
    env = {"TOGETHER_API_KEY": together_fake.api_key,
           "TOGETHER_BASE_URL": together_fake.base_url,
           "CURADORIA_VLLM_URL": vllm_fake.base_url,
           "CURADORIA_VLLM_URL_BOT": VLLM_BOT_URL,
           "CURADORIA_ADAPTERS_DIR": str(tmp_path / "adapters"),
           "CURADORIA_AVALIACAO_ATIVA": "false",
           "CURADORIA_POLLER_BACKOFF_SECONDS": "0"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CURADORIA_VLLM_API_KEY", raising=False)
    config_module.reset_settings()
    yield together_fake, vllm_fake
    together_fake.stop()
    vllm_fake.stop()
    config_module.reset_settings()


def together_cliente(engine, redis_prefix=None) -> int:
    cliente_id = make_cliente(engine, SLUG)
    with session_scope(engine) as session:
        cliente = set_fine_tuning_provider(session, SLUG, "together", BASE, usuario="ana")
        if redis_prefix is not None:
            cliente.redis_url, cliente.redis_prefix = REDIS_TEST_URL, redis_prefix
    return cliente_id


def rows(engine) -> list[FineTuningJob]:
    with session_scope(engine) as session:
        return list(session.scalars(select(FineTuningJob).order_by(FineTuningJob.id)))


def count(engine, model, *where) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def cliente_row(engine, cliente_id) -> Cliente:
    with session_scope(engine) as session:
        return session.get(Cliente, cliente_id)


def keys(redis_client, prefix) -> tuple[str | None, str | None]:
    values = redis_client.mget(f"{prefix}curadoria:modelo_ativo",
                               f"{prefix}curadoria:modelo_endpoint")
    return tuple(v.decode() if v is not None else None for v in values)


def cycle(engine, nome="teste"):
    return run_cycle(engine, lambda name: get_provider(name), nome=nome, intervalo=60,
                     sleep=lambda _s: None)


def started_and_completed(engine, together_fake, archive: bytes | None = None) -> FineTuningJob:
    cliente_id = together_cliente_id(engine)
    result = start_fine_tuning(engine, cliente_id, "ana")
    together_fake.complete(result.openai_job_id, archive=archive)
    return next(r for r in rows(engine) if r.id == result.job_id)


def together_cliente_id(engine) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(Cliente.id).where(Cliente.slug == SLUG))


# --- the choice ------------------------------------------------------------------------------
def test_a_cliente_set_to_together_keeps_the_bot_on_its_current_model(engine):
    cliente_id = make_cliente(engine, SLUG, modelo="gpt-4.1-mini-2025-04-14")
    with session_scope(engine) as session:
        set_fine_tuning_provider(session, SLUG, "together", BASE, usuario="ana")
    cliente = cliente_row(engine, cliente_id)
    assert (cliente.provedor, cliente.modelo_base) == ("together", BASE)
    assert cliente.modelo_ativo == "gpt-4.1-mini-2025-04-14"  # pinned: the bot is untouched
    assert cliente.modelo_endpoint == "https://api.openai.com/v1"


def test_a_base_model_from_another_provider_s_catalogue_is_refused_in_portuguese(engine):
    make_cliente(engine, SLUG)
    with session_scope(engine) as session, \
            pytest.raises(InvalidInput, match="não é oferecido pelo provedor Together AI"):
        set_fine_tuning_provider(session, SLUG, "together", "gpt-4o-mini-2024-07-18")
    with session_scope(engine) as session, \
            pytest.raises(InvalidInput, match="Provedor de fine-tuning desconhecido"):
        set_fine_tuning_provider(session, SLUG, "azure", None)


def test_the_preview_for_together_shows_together_s_price_and_no_shutdown_date(engine, fakes):
    together_fake, _ = fakes
    together_fake.models[BASE]["price_per_m"] = 250.0  # a price that shows in cents
    together_cliente(engine)
    with session_scope(engine) as session:
        preview = preview_fine_tuning(session, together_cliente_id(engine))
    assert preview.provedor == "together" and preview.modelo_base == BASE
    assert preview.custo_usd is not None and preview.custo_usd > 0
    assert preview.custo_brl > preview.custo_usd  # converted at CURADORIA_CAMBIO_USD_BRL
    assert preview.custo_usd == (Decimal(preview.tokens_provedor) / 1_000_000 * 250
                                 ).quantize(Decimal("0.01"))
    assert preview.tokens_provedor and preview.tokens_faturados > 0
    assert "sem data de desligamento" in preview.desligamento
    assert rows(engine) == []  # a preview starts nothing


def test_the_openai_cut_off_does_not_block_a_together_start(engine, fakes, monkeypatch):
    import datetime as dt

    from core.finetune import start as start_module

    together_cliente(engine)
    monkeypatch.setattr(start_module, "_today", lambda: dt.date(2027, 3, 1))
    result = start_fine_tuning(engine, together_cliente_id(engine), "ana")
    assert result.status == "pending"


# --- start -------------------------------------------------------------------------------------
def test_a_together_start_uploads_waits_for_validation_and_creates_one_job_with_the_slug(
        engine, fakes):
    together_fake, _ = fakes
    together_fake.processing_steps = ["RUNNING", "COMPLETED"]
    together_cliente(engine)
    result = start_fine_tuning(engine, together_cliente_id(engine), "ana")
    [row] = rows(engine)
    job = together_fake.only_job()
    assert row.provedor == "together" and row.openai_job_id == job["id"] == result.openai_job_id
    assert job["suffix"] == SLUG and job["model"] == BASE
    assert together_fake.files[row.arquivo_treino_id]["processing_status"] == "COMPLETED"


def test_a_file_together_finds_invalid_is_refused_in_portuguese_and_leaves_no_row(engine, fakes):
    together_fake, _ = fakes
    together_fake.invalid_reason = "Line 3: expected a messages list"
    together_cliente(engine)
    with pytest.raises(FileRejected, match="A Together AI recusou o arquivo de treinamento"):
        start_fine_tuning(engine, together_cliente_id(engine), "ana")
    assert rows(engine) == [] and together_fake.jobs == {}


def test_twenty_concurrent_together_starts_create_exactly_one_job(engine, fakes):
    together_fake, _ = fakes
    together_cliente(engine)
    cliente_id = together_cliente_id(engine)
    barrier = threading.Barrier(20)
    results, errors = [], []

    def worker():
        barrier.wait()
        try:
            results.append(start_fine_tuning(engine, cliente_id, "ana"))
        except JobAlreadyOpen as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 1 and len(errors) == 19
    assert len(together_fake.jobs) == 1 and len(rows(engine)) == 1


# --- deploy ---------------------------------------------------------------------------------
def test_the_adapter_is_downloaded_loaded_tested_and_both_keys_written(
        engine, fakes, redis_client, redis_prefix):
    together_fake, vllm_fake = fakes
    together_cliente(engine, redis_prefix)
    row = started_and_completed(engine, together_fake)
    cycle(engine)
    name = adapter_name(SLUG, row.id)
    [done] = rows(engine)
    assert done.status == "succeeded" and done.implantacao == "aplicado"
    assert keys(redis_client, redis_prefix) == (name, VLLM_BOT_URL)
    adapter = Path(config_module.get_settings().adapters_dir) / SLUG / str(row.id)
    assert vllm_fake.adapters == {name: str(adapter)}
    assert (adapter / "adapter_config.json").is_file()
    assert count(engine, Notificacao, Notificacao.chave == f"fine_tuning:{row.id}:concluido") == 1


def test_two_pollers_download_once_load_once_and_notify_once(
        engine, fakes, redis_client, redis_prefix):
    together_fake, vllm_fake = fakes
    together_cliente(engine, redis_prefix)
    row = started_and_completed(engine, together_fake)
    barrier = threading.Barrier(2)

    def poller(nome):
        barrier.wait()
        cycle(engine, nome)

    threads = [threading.Thread(target=poller, args=(f"poller-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert together_fake.route_calls("download") == 1
    assert vllm_fake.route_calls("load") == 1
    assert count(engine, Notificacao) == 1
    assert keys(redis_client, redis_prefix)[0] == adapter_name(SLUG, row.id)


def _assert_bot_untouched(engine, redis_client, redis_prefix):
    cliente = cliente_row(engine, together_cliente_id(engine))
    assert cliente.modelo_ativo == "gpt-4o-mini-2024-07-18"  # pinned when set to Together
    assert keys(redis_client, redis_prefix) == ("gpt-4o-mini-2024-07-18",
                                                "https://api.openai.com/v1")


def _notifications(engine) -> list[Notificacao]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Notificacao)))


@pytest.mark.parametrize("fault, message, final", [
    ("corrupt", "corrompido", True),
    ("wrong_base", "foi treinado sobre", True),
    ("vllm_down", "Não foi possível conectar ao vLLM", False),
    ("load_refused", "recusou o pedido de carregar o adaptador", False),
    ("smoke_empty", "respondeu vazio à pergunta de teste", False),
    ("not_ready", "ainda não entrega os pesos", False),
])
def test_a_deploy_fault_keeps_the_bot_says_why_once_and_retries_only_when_it_may_help(
        engine, fakes, redis_client, redis_prefix, fault, message, final):
    together_fake, vllm_fake = fakes
    together_cliente(engine, redis_prefix)
    with session_scope(engine) as session:
        from core.finetune.deploy import write_model_to_redis
        write_model_to_redis(session.get(Cliente, together_cliente_id(engine)))
    archive = {"corrupt": adapter_archive(BASE, kind="corrupt"),
               "wrong_base": adapter_archive(BASE, kind="wrong_base")}.get(fault)
    row = started_and_completed(engine, together_fake, archive=archive)
    name = adapter_name(SLUG, row.id)
    if fault == "vllm_down":
        vllm_fake.down = True
    elif fault == "load_refused":
        vllm_fake.fail("load", "load_refused")
    elif fault == "smoke_empty":
        vllm_fake.answers[name] = ""
    elif fault == "not_ready":
        together_fake.fail("download", "bad_request")
    cycle(engine)
    [job] = rows(engine)
    assert job.status == "succeeded"
    assert message in job.implantacao_erro
    assert job.implantacao == ("falhou" if final else "pendente")
    assert (job.implantacao_proxima_em is None) is final
    _assert_bot_untouched(engine, redis_client, redis_prefix)
    [nota] = _notifications(engine)
    assert message in nota.mensagem and "continua com o modelo gpt-4o-mini" in nota.mensagem
    if not final:  # fixed meanwhile: the next due cycle puts it into use
        vllm_fake.down = False
        vllm_fake.answers.pop(name, None)
        with session_scope(engine) as session:
            session.get(FineTuningJob, job.id).implantacao_proxima_em = None
        cycle(engine)
        assert rows(engine)[0].implantacao == "aplicado"
        assert keys(redis_client, redis_prefix) == (name, VLLM_BOT_URL)
        assert vllm_fake.route_calls("chat") >= 1


def test_a_together_job_in_error_is_recorded_failed_with_its_reason(engine, fakes):
    together_fake, vllm_fake = fakes
    together_cliente(engine)
    result = start_fine_tuning(engine, together_cliente_id(engine), "ana")
    together_fake.fail_job(result.openai_job_id, "Training failed: CUDA out of memory")
    cycle(engine)
    [job] = rows(engine)
    assert job.status == "failed" and "CUDA out of memory" in job.erro
    assert together_fake.route_calls("download") == 0 and vllm_fake.route_calls("load") == 0


def test_rollback_from_the_adapter_to_openai_and_back_writes_both_keys_each_time(
        engine, fakes, redis_client, redis_prefix):
    together_fake, _ = fakes
    together_cliente(engine, redis_prefix)
    row = started_and_completed(engine, together_fake)
    cycle(engine)
    name = adapter_name(SLUG, row.id)
    assert keys(redis_client, redis_prefix) == (name, VLLM_BOT_URL)
    with session_scope(engine) as session:
        rollback_model(session, SLUG, usuario="ana")
    assert keys(redis_client, redis_prefix) == ("gpt-4o-mini-2024-07-18",
                                                "https://api.openai.com/v1")
    with session_scope(engine) as session:
        apply_model(session, SLUG, name, VLLM_BOT_URL, usuario="ana")
    assert keys(redis_client, redis_prefix) == (name, VLLM_BOT_URL)
    assert count(engine, ModeloHistorico) == 4  # pin, fine-tune, rollback, re-apply


# --- the whole path through the CLI and the poller script --------------------------------------
def test_cli_start_then_poller_once_puts_the_adapter_into_use(
        engine, fakes, redis_client, redis_prefix):
    together_fake, vllm_fake = fakes
    make_cliente(engine, SLUG)
    with session_scope(engine) as session:
        session.scalar(select(Cliente).where(Cliente.slug == SLUG)).redis_url = REDIS_TEST_URL
        session.scalar(select(Cliente).where(Cliente.slug == SLUG)).redis_prefix = redis_prefix
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    start = subprocess.run(
        [sys.executable, "-m", "core", "finetune", "start", "--cliente", SLUG,
         "--provedor", "together", "--modelo-base", BASE, "--yes", "--usuario", "ana"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert start.returncode == 0, start.stdout + start.stderr
    assert "Provedor: Together AI" in start.stdout
    assert "Custo estimado pelo provedor: US$" in start.stdout
    assert "sem data de desligamento" in start.stdout
    [row] = rows(engine)
    assert row.provedor == "together" and row.modelo_base == BASE
    together_fake.complete(row.openai_job_id)
    poll = subprocess.run([sys.executable, str(ROOT / "poller.py"), "--once"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=180)
    assert poll.returncode == 0, poll.stdout + poll.stderr
    assert "acao=modelo_aplicado" in poll.stdout, poll.stdout
    name = adapter_name(SLUG, row.id)
    assert keys(redis_client, redis_prefix) == (name, VLLM_BOT_URL)
    # The bot's side: one OpenAI client on the endpoint it read, the adapter answers.
    bot = openai.OpenAI(base_url=vllm_fake.base_url, api_key="EMPTY", max_retries=0)
    answer = bot.chat.completions.create(model=name, messages=[
        {"role": "user", "content": "Vocês entregam no sábado?"}])
    assert answer.choices[0].message.content == DEFAULT_ANSWER


def test_an_unconfigured_vllm_keeps_the_bot_and_is_retried(engine, fakes, monkeypatch):
    together_fake, _ = fakes
    together_cliente(engine)
    started_and_completed(engine, together_fake)
    monkeypatch.setenv("CURADORIA_VLLM_URL", "")
    monkeypatch.setenv("CURADORIA_VLLM_URL_BOT", "")
    config_module.reset_settings()
    cycle(engine)
    [job] = rows(engine)
    assert job.implantacao == "pendente" and job.implantacao_proxima_em is not None
    assert "CURADORIA_VLLM_URL" in job.implantacao_erro
    assert cliente_row(engine, job.cliente_id).modelo_ativo == "gpt-4o-mini-2024-07-18"


def test_cli_refuses_a_base_model_the_provider_does_not_offer_in_portuguese(engine, fakes,
                                                                          capsys):
    from core.__main__ import main

    make_cliente(engine, SLUG)
    assert main(["finetune", "start", "--cliente", SLUG, "--provedor", "together",
                 "--modelo-base", "gpt-4o-mini-2024-07-18", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "não é oferecido pelo provedor Together AI" in err and "Traceback" not in err
    assert rows(engine) == []
