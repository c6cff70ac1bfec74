"""No bot left on a dead model: shutdown dates from the provider's /v1/models, the guard that
moves a bot before its model shuts down, the contingency, and the manual apply's checks."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core import config as config_module
from core.db import session_scope
from core.db.tables import Cliente, FineTuningJob, ModeloDesligamento, ModeloHistorico, Notificacao
from core.errors import InvalidInput
from core.finetune import shutdown_dates
from core.finetune.deploy import apply_model, redis_endpoint_key, redis_model_key, rollback_model
from core.finetune.rollout import apply_job_model
from core.finetune.shutdown_dates import refresh_shutdown_dates, shutdown_date
from core.finetune.sunset import guard_shutdowns, set_contingency, shutdown_warnings
from core.poller.cycle import run_cycle
from tests.poll_helpers import make_cliente

ROOT = Path(__file__).resolve().parent.parent
BASE = "gpt-4.1-mini-2025-04-14"
FT = f"ft:{BASE}:acme:padaria:abc123"
CONTINGENCIA = "gpt-5-mini"
HOJE = dt.date(2026, 12, 3)


@pytest.fixture
def no_evaluation(monkeypatch):
    monkeypatch.setenv("CURADORIA_AVALIACAO_ATIVA", "false")
    config_module.reset_settings()


def set_model(engine, cliente_id, modelo=FT, **values):
    with session_scope(engine) as session:
        session.execute(update(Cliente).where(Cliente.id == cliente_id)
                        .values(modelo_ativo=modelo, **values))


def cliente_row(engine, cliente_id) -> Cliente:
    with session_scope(engine) as session:
        cliente = session.get(Cliente, cliente_id)
        session.expunge(cliente)
        return cliente


def notificacoes(engine, cliente_id) -> list[Notificacao]:
    with session_scope(engine) as session:
        rows = list(session.scalars(select(Notificacao).where(Notificacao.cliente_id == cliente_id)
                                    .order_by(Notificacao.id)))
        session.expunge_all()
        return rows


def succeeded_job(engine, cliente_id, modelo, *, completed: dt.datetime,
                  implantacao="aplicado") -> int:
    with session_scope(engine) as session:
        job = FineTuningJob(cliente_id=cliente_id, openai_job_id=f"ftjob-{modelo[-6:]}",
                            status="succeeded", modelo_base=BASE, modelo_fine_tuned=modelo,
                            modelo_implantado=modelo, implantacao=implantacao,
                            completed_at=completed)
        session.add(job)
        session.flush()
        return job.id


# --- dates from the source -------------------------------------------------------------

def test_the_dates_come_from_the_providers_models_list_and_a_finetune_takes_its_bases(
        engine, fake_openai):
    fake_openai.shutdown_dates = {BASE: "2027-01-14", "gpt-4o-2024-08-06": "2026-12-20"}
    refresh_shutdown_dates(engine, hoje=HOJE)
    with session_scope(engine) as session:
        row = session.get(ModeloDesligamento, BASE)
        assert (row.desligamento, row.fonte, row.provedor) == (dt.date(2027, 1, 14), "api", "openai")
        # The API's date wins over the catalogue's (2027-01-14 for gpt-4o too).
        assert shutdown_date(session, "ft:gpt-4o-2024-08-06:acme:x:1").data == dt.date(2026, 12, 20)
        assert shutdown_date(session, FT).fonte == "api"
        assert shutdown_date(session, "Qwen/Qwen3-8B") is None


def test_the_dates_are_refreshed_once_a_day(engine, fake_openai):
    refresh_shutdown_dates(engine, hoje=HOJE)
    refresh_shutdown_dates(engine, hoje=HOJE)
    assert fake_openai.route_calls("models.list") == 1
    refresh_shutdown_dates(engine, hoje=HOJE, force=True)
    assert fake_openai.route_calls("models.list") == 2


def test_without_an_api_date_the_catalogue_applies(engine, fake_openai):
    refresh_shutdown_dates(engine, hoje=HOJE)  # the fake gives no shutdown_date at all
    with session_scope(engine) as session:
        found = shutdown_date(session, FT)
        assert (found.data, found.fonte) == (dt.date(2027, 1, 14), "catalogo")
        assert shutdown_date(session, "gpt-4o-mini").data == dt.date(2027, 1, 14)  # alias


def test_an_unreachable_provider_keeps_the_last_dates_the_catalogue_applies_and_the_cycle_goes_on(
        engine, fake_openai, monkeypatch, no_evaluation):
    fake_openai.shutdown_dates = {"gpt-4o-2024-08-06": "2026-12-20"}
    refresh_shutdown_dates(engine, hoje=HOJE)
    with session_scope(engine) as session:  # yesterday's refresh: today's is due
        session.execute(update(ModeloDesligamento).values(
            atualizado_em=dt.datetime(2026, 12, 2, 12)))
    fake_openai.fail("models.list", "server_error", times=10)
    dia = dt.date(2027, 1, 13)
    monkeypatch.setattr(shutdown_dates, "today", lambda: dia)
    monkeypatch.setenv("CURADORIA_MODELO_CONTINGENCIA", CONTINGENCIA)
    config_module.reset_settings()
    no_ft = make_cliente(engine, "padaria")  # base gpt-4.1-mini: catalogue says 2027-01-14

    summary = run_cycle(engine, lambda _n: None, ingest=False, analysis=False)

    assert fake_openai.route_calls("models.list") >= 2
    assert summary.erros == []
    with session_scope(engine) as session:
        assert shutdown_date(session, "gpt-4o-2024-08-06").data == dt.date(2026, 12, 20)
    assert cliente_row(engine, no_ft).modelo_ativo == CONTINGENCIA
    assert summary.desligamento == "1 trocado, 0 sem alvo"


# --- the guard ---------------------------------------------------------------------------

def tomorrow() -> dt.date:
    return shutdown_dates.today() + dt.timedelta(days=1)


def run_poller_once() -> subprocess.CompletedProcess:
    env = {**os.environ, "CURADORIA_AVALIACAO_ATIVA": "false",
           "CURADORIA_MODELO_CONTINGENCIA": CONTINGENCIA}
    return subprocess.run([sys.executable, str(ROOT / "poller.py"), "--once"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def test_a_bot_on_a_finetune_whose_base_shuts_down_tomorrow_is_moved_once_by_the_poller(
        engine, fake_openai, redis_client, redis_prefix):
    fake_openai.shutdown_dates = {BASE: tomorrow().isoformat()}
    dying = make_cliente(engine, "padaria", redis_prefix=redis_prefix)
    set_model(engine, dying, FT)
    safe = make_cliente(engine, "loja", redis_prefix=redis_prefix + "loja:")
    set_model(engine, safe, "gpt-5-mini")

    first = run_poller_once()
    assert first.returncode == 0, first.stdout + first.stderr

    cliente = cliente_row(engine, dying)
    assert (cliente.modelo_ativo, cliente.modelo_endpoint) == (CONTINGENCIA,
                                                               "https://api.openai.com/v1")
    assert redis_client.get(redis_model_key(cliente)) == CONTINGENCIA.encode()
    assert redis_client.get(redis_endpoint_key(cliente)) == b"https://api.openai.com/v1"
    [aviso] = notificacoes(engine, dying)
    assert FT in aviso.mensagem and CONTINGENCIA in aviso.mensagem and "desligado" in aviso.mensagem
    [historico] = [h for h in _history(engine, dying)]
    assert (historico.modelo_anterior, historico.modelo_novo, historico.motivo) == (
        FT, CONTINGENCIA, "desligamento")
    assert cliente_row(engine, safe).modelo_ativo == "gpt-5-mini"
    assert notificacoes(engine, safe) == [] and _history(engine, safe) == []

    second = run_poller_once()
    assert second.returncode == 0, second.stdout + second.stderr
    assert cliente_row(engine, dying).modelo_ativo == CONTINGENCIA
    assert len(notificacoes(engine, dying)) == 1 and len(_history(engine, dying)) == 1


def _history(engine, cliente_id) -> list[ModeloHistorico]:
    with session_scope(engine) as session:
        rows = list(session.scalars(select(ModeloHistorico)
                                    .where(ModeloHistorico.cliente_id == cliente_id)))
        session.expunge_all()
        return rows


def test_two_guards_at_once_move_the_bot_once(engine, monkeypatch):
    monkeypatch.setenv("CURADORIA_MODELO_CONTINGENCIA", CONTINGENCIA)
    config_module.reset_settings()
    cliente_id = make_cliente(engine, "padaria")
    set_model(engine, cliente_id, FT)
    barrier = threading.Barrier(2)
    errors = []

    def guard(nome):
        try:
            barrier.wait()
            guard_shutdowns(engine, hoje=dt.date(2027, 1, 13), por=nome)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=guard, args=(f"poller-{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cliente_row(engine, cliente_id).modelo_ativo == CONTINGENCIA
    assert len(_history(engine, cliente_id)) == 1 and len(notificacoes(engine, cliente_id)) == 1


def test_the_newest_succeeded_finetune_that_is_not_shutting_down_wins_over_the_contingency(
        engine, monkeypatch):
    monkeypatch.setenv("CURADORIA_MODELO_CONTINGENCIA", CONTINGENCIA)
    config_module.reset_settings()
    cliente_id = make_cliente(engine, "padaria")
    set_model(engine, cliente_id, FT)
    succeeded_job(engine, cliente_id, "padaria-lora-v1", completed=dt.datetime(2026, 11, 1))
    succeeded_job(engine, cliente_id, "padaria-lora-v2", completed=dt.datetime(2026, 12, 1),
                  implantacao="aguardando_aprovacao")
    succeeded_job(engine, cliente_id, "padaria-lora-v3", completed=dt.datetime(2026, 12, 2),
                  implantacao="rejeitado")
    succeeded_job(engine, cliente_id, f"ft:{BASE}:acme:padaria:new",  # dies too
                  completed=dt.datetime(2026, 12, 3))
    monkeypatch.setenv("CURADORIA_VLLM_URL", "http://vllm:8000/v1")
    config_module.reset_settings()

    summary = guard_shutdowns(engine, hoje=dt.date(2027, 1, 14))

    cliente = cliente_row(engine, cliente_id)
    assert summary.movidos == ["padaria"]
    assert (cliente.modelo_ativo, cliente.modelo_endpoint) == ("padaria-lora-v2",
                                                               "http://vllm:8000/v1")


def test_without_any_target_nothing_changes_and_one_loud_notification_a_day(engine):
    cliente_id = make_cliente(engine, "padaria")
    set_model(engine, cliente_id, FT)
    for _ in range(2):
        summary = guard_shutdowns(engine, hoje=dt.date(2027, 1, 13))
    assert summary.sem_alvo == ["padaria"]
    assert cliente_row(engine, cliente_id).modelo_ativo == FT
    [aviso] = notificacoes(engine, cliente_id)
    assert aviso.titulo.startswith("URGENTE") and aviso.tipo == "modelo_desligamento_urgente"
    guard_shutdowns(engine, hoje=dt.date(2027, 1, 14))
    assert len(notificacoes(engine, cliente_id)) == 2
    assert _history(engine, cliente_id) == []


def test_a_contingency_that_shuts_down_itself_is_never_a_target(engine, monkeypatch):
    monkeypatch.setenv("CURADORIA_MODELO_CONTINGENCIA", "gpt-4o-2024-08-06")  # 2027-01-14 too
    config_module.reset_settings()
    cliente_id = make_cliente(engine, "padaria")
    set_model(engine, cliente_id, FT)
    assert guard_shutdowns(engine, hoje=dt.date(2027, 1, 13)).sem_alvo == ["padaria"]
    assert cliente_row(engine, cliente_id).modelo_ativo == FT


def test_a_bot_far_from_its_shutdown_is_left_alone(engine, monkeypatch):
    monkeypatch.setenv("CURADORIA_MODELO_CONTINGENCIA", CONTINGENCIA)
    config_module.reset_settings()
    cliente_id = make_cliente(engine, "padaria")
    set_model(engine, cliente_id, FT)
    assert guard_shutdowns(engine, hoje=dt.date(2027, 1, 11)).movidos == []  # 3 days left
    assert guard_shutdowns(engine, hoje=dt.date(2027, 1, 12)).movidos == ["padaria"]  # 2


# --- contingency and manual apply ------------------------------------------------------------

def test_a_contingency_shutting_down_within_the_window_is_refused_in_portuguese(session):
    make_cliente(session.get_bind(), "padaria")
    with pytest.raises(InvalidInput, match="não serve de contingência.*14/01/2027"):
        set_contingency(session, "padaria", "gpt-4o-2024-08-06", hoje=HOJE)
    cliente = set_contingency(session, "padaria", "padaria-lora", "http://vllm:8000/v1", hoje=HOJE)
    assert (cliente.modelo_contingencia, cliente.modelo_contingencia_endpoint) == (
        "padaria-lora", "http://vllm:8000/v1")
    assert set_contingency(session, "padaria", "", hoje=HOJE).modelo_contingencia is None


def test_apply_refuses_a_model_past_its_shutdown_and_warns_about_one_shutting_down_soon(engine):
    make_cliente(engine, "padaria")
    with session_scope(engine) as session:
        with pytest.raises(InvalidInput, match="foi desligado pelo provedor em 14/01/2027"):
            apply_model(session, "padaria", FT, usuario="ana", hoje=dt.date(2027, 1, 14))
    with session_scope(engine) as session:
        result = apply_model(session, "padaria", FT, usuario="ana", hoje=HOJE)
    assert result.modelo_em_uso == FT
    assert result.avisos and "será desligado pelo provedor em 14/01/2027, daqui a 42 dia" in result.avisos[0]
    with session_scope(engine) as session:
        assert apply_model(session, "padaria", "gpt-5-mini", usuario="ana", hoje=HOJE).avisos == ()


def test_the_cli_applies_a_model_and_prints_the_shutdown_warning(engine):
    cliente_id = make_cliente(engine, "padaria")
    em_10_dias = shutdown_dates.today() + dt.timedelta(days=10)
    with session_scope(engine) as session:
        session.add(ModeloDesligamento(modelo=BASE, provedor="openai", fonte="api",
                                       desligamento=em_10_dias, atualizado_em=dt.datetime.now()))
    result = subprocess.run([sys.executable, "-m", "core", "modelo", "aplicar", "--cliente",
                             "padaria", "--modelo", FT], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "AVISO: Atenção: o modelo" in result.stdout
    assert f"{em_10_dias:%d/%m/%Y}, daqui a 10 dias" in result.stdout
    assert cliente_row(engine, cliente_id).modelo_ativo == FT


def test_the_warning_lists_the_clientes_within_the_window_soonest_first(engine):
    a, b, c = (make_cliente(engine, s) for s in ("a", "b", "c"))
    set_model(engine, a, FT)
    set_model(engine, b, "gpt-5-mini")
    set_model(engine, c, "ft:gpt-4o-2024-08-06:acme:c:1")
    with session_scope(engine) as session:
        session.add(ModeloDesligamento(modelo="gpt-4o-2024-08-06", provedor="openai", fonte="api",
                                       desligamento=dt.date(2026, 12, 10),
                                       atualizado_em=dt.datetime(2026, 12, 3)))
    with session_scope(engine) as session:
        avisos = shutdown_warnings(session, HOJE)
    assert [(s.slug, s.dias_restantes) for s in avisos] == [("c", 7), ("a", 42)]


def test_a_rollback_never_goes_back_to_a_model_past_its_shutdown(engine, monkeypatch):
    monkeypatch.setenv("CURADORIA_MODELO_CONTINGENCIA", CONTINGENCIA)
    config_module.reset_settings()
    cliente_id = make_cliente(engine, "padaria")
    set_model(engine, cliente_id, FT)
    guard_shutdowns(engine, hoje=dt.date(2027, 1, 14))
    monkeypatch.setattr(shutdown_dates, "today", lambda: dt.date(2027, 1, 14))
    with session_scope(engine) as session:
        with pytest.raises(InvalidInput, match="foi desligado pelo provedor"):
            rollback_model(session, "padaria", usuario="ana")
    assert cliente_row(engine, cliente_id).modelo_ativo == CONTINGENCIA


def test_a_finished_job_whose_model_is_past_its_shutdown_is_not_put_into_use(engine, monkeypatch):
    cliente_id = make_cliente(engine, "padaria")
    job_id = succeeded_job(engine, cliente_id, FT, completed=dt.datetime(2027, 1, 10),
                           implantacao="pendente")
    monkeypatch.setattr(shutdown_dates, "today", lambda: dt.date(2027, 1, 15))
    assert apply_job_model(engine, job_id, por="poller") == "falhou"
    assert cliente_row(engine, cliente_id).modelo_ativo is None
    with session_scope(engine) as session:
        job = session.get(FineTuningJob, job_id)
        assert job.implantacao == "falhou" and "desligado" in job.implantacao_erro
