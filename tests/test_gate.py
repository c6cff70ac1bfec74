"""The evaluation gate: a new model answers customers only when it is not worse than the
model in use on held-out conversations, else it waits for an admin's decision.

The job is started by the real start path (files written, uploaded to the local fake
OpenAI API through the SDK), the fake then reports it succeeded, and `poller.py --once`
(a process) or rollout.deploy_pending follows, evaluates and applies or holds it. Both
models answer on the same fake API, scripted per model name.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from core import config as config_module
from core.db import session_scope
from core.db.tables import Cliente, FineTuningJob, ModeloHistorico, Notificacao
from core.finetune import rollout
from core.finetune.evaluate import latest_evaluation
from core.finetune.gate import SEM_CHAVE, endpoint_to_ask, evaluation_gate
from core.finetune.registry import get_provider
from core.finetune.rollout import Candidate
from core.finetune.start import start_fine_tuning
from core.poller.cycle import run_cycle
from tests.conftest import REDIS_TEST_URL
from tests.finetune_helpers import make_cliente

ROOT = Path(__file__).resolve().parent.parent
CANDIDATO = "ft:gpt-4o-mini-2024-07-18:fake-org:loja-do-joao:abc123"
ATUAL = "gpt-4o-mini-2024-07-18"
FALLBACK = "Não tenho essa informação, desculpe."
VAGA = "Ótima pergunta! Fique à vontade para perguntar o que quiser."


def curada(messages) -> str:
    """The curated answer itself (make_cliente's conversas end with it)."""
    text_ = " ".join(m["content"] for m in messages if m["role"] == "user")
    numero = re.search(r"loja (\d+)", text_).group(1)
    return f"Sim, entregamos aos sábados até as 14h ({numero})."


@pytest.fixture
def gate_on(settings, monkeypatch):
    """The gate on, half of the good conversas held out, fast retries."""
    monkeypatch.setenv("CURADORIA_AVALIACAO_ATIVA", "true")
    monkeypatch.setenv("CURADORIA_DATASET_FRACAO_VALIDACAO", "0.5")
    monkeypatch.setenv("CURADORIA_AVALIACAO_BACKOFF_SECONDS", "0.02")
    monkeypatch.setenv("CURADORIA_AVALIACAO_MAX_TENTATIVAS", "2")
    config_module.reset_settings()
    yield
    config_module.reset_settings()


@pytest.fixture
def job(engine, fake_openai, gate_on, redis_prefix):
    """A job started for real, succeeded at the provider with the candidate model."""
    cliente_id = make_cliente(engine)
    with session_scope(engine) as session:
        cliente = session.get(Cliente, cliente_id)
        cliente.redis_url, cliente.redis_prefix = REDIS_TEST_URL, redis_prefix
    result = start_fine_tuning(engine, cliente_id, "ana")
    fake_openai.succeed(result.openai_job_id, fine_tuned_model=CANDIDATO)
    return result.job_id


def poller_once() -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(ROOT / "poller.py"), "--once"], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "finetune", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)


def job_row(engine, job_id) -> FineTuningJob:
    with session_scope(engine) as session:
        return session.get(FineTuningJob, job_id)


def count(engine, model, **where) -> int:
    with session_scope(engine) as session:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return session.scalar(stmt)


def active(engine, job_id) -> str | None:
    with session_scope(engine) as session:
        return session.get(Cliente, session.get(FineTuningJob, job_id).cliente_id).modelo_ativo


CURRENT_KEYS = (ATUAL.encode(), b"https://api.openai.com/v1")  # what the poller re-syncs


def redis_keys(redis_client, redis_prefix) -> tuple:
    return (redis_client.get(f"{redis_prefix}curadoria:modelo_ativo"),
            redis_client.get(f"{redis_prefix}curadoria:modelo_endpoint"))


def evaluation_of(engine, job_id):
    with session_scope(engine) as session:
        return latest_evaluation(session, job_id)


def test_a_worse_candidate_waits_for_approval_then_the_cli_applies_it_once(
        engine, fake_openai, job, redis_client, redis_prefix):
    fake_openai.chat_model(CANDIDATO, FALLBACK)
    fake_openai.chat_model(ATUAL, curada)

    poller_once()
    row = job_row(engine, job)
    assert (row.status, row.implantacao) == ("succeeded", "aguardando_aprovacao")
    assert active(engine, job) is None
    assert redis_keys(redis_client, redis_prefix) in ((None, None), CURRENT_KEYS)
    assert count(engine, ModeloHistorico) == 0
    assert count(engine, Notificacao, tipo="implantacao_aguardando") == 1
    assert count(engine, Notificacao, tipo="fine_tuning_concluido") == 0
    evaluation = evaluation_of(engine, job)
    assert (evaluation.status, evaluation.decisao) == ("concluida", "aguardando_aprovacao")
    assert evaluation.criada_por == "poller" and evaluation.decidida_por is None
    assert evaluation.modelo_candidato == CANDIDATO and evaluation.modelo_atual == ATUAL
    with session_scope(engine) as session:
        aviso = session.scalar(select(Notificacao.mensagem)
                               .where(Notificacao.tipo == "implantacao_aguardando"))
    assert f"avaliação #{evaluation.id}" in aviso and "com problema" in aviso

    poller_once()  # a later cycle leaves a held job alone
    assert job_row(engine, job).implantacao == "aguardando_aprovacao"
    assert len(fake_openai.chat_requests(CANDIDATO)) == evaluation.exemplos

    done = cli("aprovar", str(job), "--usuario", "ana")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "aprovado" in done.stdout
    assert job_row(engine, job).implantacao == "aplicado"
    assert active(engine, job) == CANDIDATO
    assert redis_keys(redis_client, redis_prefix) == (CANDIDATO.encode(),
                                                      b"https://api.openai.com/v1")
    with session_scope(engine) as session:
        [historico] = session.scalars(select(ModeloHistorico)).all()
        assert (historico.modelo_novo, historico.alterado_por) == (CANDIDATO, "ana")
    assert count(engine, Notificacao, tipo="fine_tuning_concluido") == 1
    evaluation = evaluation_of(engine, job)
    assert (evaluation.decisao, evaluation.decidida_por) == ("aprovado", "ana")

    again = cli("aprovar", str(job), "--usuario", "bia")
    assert again.returncode == 0 and "nada foi feito" in again.stdout
    assert count(engine, ModeloHistorico) == 1
    assert count(engine, Notificacao, tipo="fine_tuning_concluido") == 1
    assert evaluation_of(engine, job).decidida_por == "ana"


def test_a_better_candidate_is_applied_by_the_poller_without_a_person(
        engine, fake_openai, job, redis_client, redis_prefix):
    fake_openai.chat_model(CANDIDATO, curada)
    fake_openai.chat_model(ATUAL, FALLBACK)

    out = poller_once().stdout
    assert "acao=modelo_aplicado" in out, out
    assert job_row(engine, job).implantacao == "aplicado"
    assert active(engine, job) == CANDIDATO
    assert redis_keys(redis_client, redis_prefix)[0] == CANDIDATO.encode()
    evaluation = evaluation_of(engine, job)
    assert (evaluation.decisao, evaluation.decidida_por) == ("aprovado", "automatico")
    assert evaluation.criada_por == "poller"
    assert count(engine, Notificacao, tipo="implantacao_aguardando") == 0
    assert count(engine, Notificacao, tipo="fine_tuning_concluido") == 1


def test_a_rejected_candidate_never_serves_and_the_rejection_is_recorded(
        engine, fake_openai, job, redis_client, redis_prefix):
    fake_openai.chat_model(CANDIDATO, VAGA)
    fake_openai.chat_model(ATUAL, curada)
    run_cycle(engine, lambda _name: get_provider(), nome="t", intervalo=60,
              sleep=lambda _s: None)
    assert job_row(engine, job).implantacao == "aguardando_aprovacao"

    done = cli("rejeitar", str(job), "--usuario", "bia")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "continua com o modelo atual" in done.stdout
    assert job_row(engine, job).implantacao == "rejeitado"
    assert (evaluation_of(engine, job).decisao, evaluation_of(engine, job).decidida_por) == (
        "rejeitado", "bia")
    refused = cli("aprovar", str(job))
    assert refused.returncode == 1 and "não está aguardando aprovação" in refused.stderr
    assert active(engine, job) is None
    assert redis_keys(redis_client, redis_prefix) in ((None, None), CURRENT_KEYS)


def test_an_endpoint_down_mid_evaluation_is_retried_next_cycle_asking_only_the_rest(
        engine, fake_openai, job):
    fake_openai.chat_model(CANDIDATO, curada, fail_after=3)
    fake_openai.chat_model(ATUAL, FALLBACK)
    factory = lambda _name: get_provider()  # noqa: E731
    run_cycle(engine, factory, nome="t", intervalo=60, sleep=lambda _s: None)
    row = job_row(engine, job)
    assert (row.implantacao, row.implantacao_tentativas) == ("pendente", 1)
    assert row.implantacao_proxima_em is not None and "não terminou" in row.implantacao_erro
    assert evaluation_of(engine, job).status == "falhou"
    assert active(engine, job) is None
    assert count(engine, Notificacao, tipo="implantacao_falhou") == 1

    fake_openai.chat_model(CANDIDATO, curada)  # back up
    with session_scope(engine) as session:  # the retry delay has passed
        session.execute(update(FineTuningJob).where(FineTuningJob.id == job)
                        .values(implantacao_proxima_em=None))
    assert rollout.deploy_pending(engine, factory, owner="t") == [(job, "aplicado")]
    evaluation = evaluation_of(engine, job)
    assert (evaluation.status, evaluation.decisao) == ("concluida", "aprovado")
    assert len(fake_openai.chat_requests(CANDIDATO)) == evaluation.exemplos  # the 3 answered before the failure not again


def test_a_job_without_held_out_conversas_waits_for_approval_for_lack_of_evidence(
        engine, fake_openai, gate_on, monkeypatch):
    monkeypatch.setenv("CURADORIA_DATASET_FRACAO_VALIDACAO", "0")
    config_module.reset_settings()
    cliente_id = make_cliente(engine)
    result = start_fine_tuning(engine, cliente_id, "ana")
    fake_openai.succeed(result.openai_job_id, fine_tuned_model=CANDIDATO)
    run_cycle(engine, lambda _name: get_provider(), nome="t", intervalo=60,
              sleep=lambda _s: None)
    assert job_row(engine, result.job_id).implantacao == "aguardando_aprovacao"
    with session_scope(engine) as session:
        aviso = session.scalar(select(Notificacao.mensagem)
                               .where(Notificacao.tipo == "implantacao_aguardando"))
    assert aviso.startswith("Sem evidência")
    assert fake_openai.chat_log == []
    assert cli("aprovar", str(result.job_id), "--usuario", "ana").returncode == 0
    assert active(engine, result.job_id) == CANDIDATO


def test_the_cli_evaluates_a_succeeded_job_by_hand_and_prints_the_decision(
        engine, fake_openai, job):
    fake_openai.chat_model(CANDIDATO, FALLBACK)
    fake_openai.chat_model(ATUAL, curada)
    with session_scope(engine) as session:  # succeeded, not yet deployed
        session.execute(update(FineTuningJob).where(FineTuningJob.id == job).values(
            status="succeeded", modelo_fine_tuned=CANDIDATO, implantacao="pendente"))
    done = cli("avaliar", str(job), "--usuario", "carla")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Modelo novo ({CANDIDATO})" in done.stdout
    assert "Decisão: aguardando aprovação" in done.stdout
    assert evaluation_of(engine, job).criada_por == "carla"
    missing = cli("avaliar", "999999")
    assert missing.returncode == 1 and "não encontrado" in missing.stderr


def test_the_key_follows_the_endpoint_and_never_leaks_the_openai_key_to_vllm(
        settings, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    monkeypatch.setenv("CURADORIA_VLLM_URL", "http://vllm-interno:8000/v1")
    monkeypatch.setenv("CURADORIA_VLLM_URL_BOT", "http://vllm.bot:8000/v1")
    config_module.reset_settings()
    openai_ = endpoint_to_ask("ft:gpt-4.1:x", "https://api.openai.com/v1")
    assert (openai_.base_url, openai_.api_key) == (None, "sk-openai")
    vllm = endpoint_to_ask("loja-lora", "http://vllm.bot:8000/v1")
    assert (vllm.base_url, vllm.api_key) == ("http://vllm-interno:8000/v1", SEM_CHAVE)
    monkeypatch.setenv("CURADORIA_VLLM_API_KEY", "vllm-secreta")
    config_module.reset_settings()
    assert endpoint_to_ask("loja-lora", "http://vllm.bot:8000/v1").api_key == "vllm-secreta"


def test_a_candidate_equal_to_the_model_in_use_passes_without_asking_anything(
        engine, fake_openai, job):
    with session_scope(engine) as session:
        session.execute(update(FineTuningJob).where(FineTuningJob.id == job)
                        .values(status="succeeded"))
    assert evaluation_gate(engine, job, Candidate(ATUAL, "https://api.openai.com/v1")) \
        == "aplicar"
    assert fake_openai.chat_log == []
