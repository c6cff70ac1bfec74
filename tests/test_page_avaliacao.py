"""The side-by-side screen of an evaluation (Avaliação de modelos), the approval status on
Fine-tuning and Histórico (Streamlit AppTest on the real dashboard, real database; the
evaluation itself runs against the local fake OpenAI API)."""
from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from core import config as config_module
from core.db import session_scope
from core.db.tables import Cliente, FineTuningJob
from core.finetune.evaluate import Endpoint, job_files_dir, latest_evaluation, run_evaluation
from core.training.dataset import build_training_files
from tests.finetune_helpers import make_cliente
from tests.pages_helpers import ROOT, logged_in_dashboard

PAGE = "pages/screens/avaliacao_modelos.py"
CANDIDATO = "ft:gpt-4o-mini-2024-07-18:fake-org:loja-do-joao:abc123"
ATUAL = "gpt-4o-mini-2024-07-18"
MARKUP = "Não tenho essa informação. **x** <b>negrito</b> [a](http://x)"
PROPER = "Sim, entregamos aos sábados, até as 14h."


def numero(messages) -> int:
    text_ = " ".join(m["content"] for m in messages if m["role"] == "user")
    return int(re.search(r"loja (\d+)", text_).group(1))


def candidate(messages) -> str:
    """Worse (a fallback full of markup) on even conversas, the curated answer on odd ones."""
    n = numero(messages)
    return MARKUP if n % 2 == 0 else f"Sim, entregamos aos sábados até as 14h ({n})."


@pytest.fixture
def held_job(engine, fake_openai, monkeypatch):
    """A succeeded job held for approval after a real evaluation."""
    monkeypatch.setenv("CURADORIA_AVALIACAO_ATIVA", "true")
    monkeypatch.setenv("CURADORIA_DATASET_FRACAO_VALIDACAO", "0.5")
    config_module.reset_settings()
    settings = config_module.get_settings()
    cliente_id = make_cliente(engine)
    with session_scope(engine) as session:
        job = FineTuningJob(cliente_id=cliente_id, status="succeeded", modelo_base=ATUAL,
                            modelo_fine_tuned=CANDIDATO, modelo_implantado=CANDIDATO,
                            endpoint_implantado="https://api.openai.com/v1",
                            implantacao="aguardando_aprovacao")
        session.add(job)
        session.flush()
        build_training_files(session, cliente_id, job_files_dir(job.id, settings))
        job_id = job.id
    fake_openai.chat_model(CANDIDATO, candidate)
    fake_openai.chat_model(ATUAL, PROPER)
    evaluation = run_evaluation(engine, job_id, Endpoint(CANDIDATO), Endpoint(ATUAL),
                                criada_por="poller")
    assert evaluation.decisao == "aguardando_aprovacao"
    yield job_id
    config_module.reset_settings()


def texts(at) -> list[str]:
    return [t.value for t in at.text]


def markdown_like(at) -> str:
    """Everything the page rendered as markdown (markdown, captions, alerts)."""
    return " ".join([*(m.value for m in at.markdown), *(c.value for c in at.caption),
                     *(w.value for w in at.warning), *(i.value for i in at.info),
                     *(s.value for s in at.success)])


def test_answers_with_markdown_and_html_are_shown_literally_as_text(engine, held_job):
    at = logged_in_dashboard(engine, page=PAGE)
    assert not at.exception, at.exception
    literal = [t for t in texts(at) if t == MARKUP]
    assert literal, texts(at)[:20]
    for fragment in ("**x**", "<b>", "[a](http://x)", "negrito"):
        assert fragment not in markdown_like(at)


def test_the_examples_that_got_worse_come_first_then_the_better_ones(engine, held_job):
    at = logged_in_dashboard(engine, page=PAGE)
    headers = [t for t in texts(at) if re.match(r"^(Piorou|Melhorou|Igual|Sem resposta) ·", t)]
    kinds = [h.split(" ·")[0] for h in headers]
    assert kinds and kinds[0] == "Piorou" and "Melhorou" in kinds
    assert kinds == sorted(kinds, key=["Piorou", "Melhorou", "Igual", "Sem resposta"].index)
    resumo = "\n".join(texts(at))
    assert f"Modelo novo: {CANDIDATO}" in resumo and f"Modelo atual: {ATUAL}" in resumo
    assert "respostas com problema" in resumo
    assert [m.label for m in at.metric] == ["Pioraram", "Melhoraram", "Custo da avaliação"]
    assert at.metric[2].value.startswith("US$")


def test_the_aprovar_button_applies_the_model_and_records_who(engine, held_job):
    at = logged_in_dashboard(engine, "ana", page=PAGE)
    next(b for b in at.button if b.label == "Aprovar").click()
    at.run()
    assert not at.exception, at.exception
    with session_scope(engine) as session:
        job = session.get(FineTuningJob, held_job)
        assert job.implantacao == "aplicado"
        assert session.get(Cliente, job.cliente_id).modelo_ativo == CANDIDATO
        evaluation = latest_evaluation(session, held_job)
    assert (evaluation.decisao, evaluation.decidida_por) == ("aprovado", "ana")
    assert not [b for b in at.button if b.label == "Aprovar"]  # decided: no more buttons


def test_the_rejeitar_button_keeps_the_current_model(engine, held_job):
    at = logged_in_dashboard(engine, "bia", page=PAGE)
    next(b for b in at.button if b.label == "Rejeitar").click()
    at.run()
    assert not at.exception, at.exception
    with session_scope(engine) as session:
        job = session.get(FineTuningJob, held_job)
        assert job.implantacao == "rejeitado"
        assert session.get(Cliente, job.cliente_id).modelo_ativo is None
        assert latest_evaluation(session, held_job).decidida_por == "bia"


def test_historico_shows_the_waiting_status_and_each_evaluation(engine, held_job):
    at = logged_in_dashboard(engine, page="pages/screens/historico.py")
    assert not at.exception, at.exception
    jobs, avaliacoes = (df.value for df in at.dataframe)
    assert "aguardando aprovação" in jobs.loc[jobs["Job"] == held_job, "Status"].iloc[0]
    row = avaliacoes.iloc[0]
    assert (row["Job"], row["Criada por"], row["Modelo novo"], row["Modelo atual"]) == (
        held_job, "poller", CANDIDATO, ATUAL)
    assert row["Decisão"] == "Aguardando aprovação"
    assert re.fullmatch(r"\d+ / 0", row["Problemas (novo / atual)"])


def test_fine_tuning_says_a_model_waits_for_approval(engine, held_job):
    at = logged_in_dashboard(engine, page="pages/screens/fine_tuning.py")
    assert not at.exception, at.exception
    assert any(f"Job #{held_job}: modelo novo aguardando aprovação" in w.value
               for w in at.warning)


def test_a_held_job_without_an_evaluation_can_still_be_decided(engine, held_job):
    with session_scope(engine) as session:
        other = FineTuningJob(cliente_id=session.get(FineTuningJob, held_job).cliente_id,
                              status="succeeded", modelo_fine_tuned="ft:outro",
                              modelo_implantado="ft:outro",
                              endpoint_implantado="https://api.openai.com/v1",
                              implantacao="aguardando_aprovacao",
                              implantacao_erro="Sem evidência: sem arquivo de validação.")
        session.add(other)
        session.flush()
        other_id = other.id
    at = logged_in_dashboard(engine, "ana", page=PAGE)
    assert any(f"Job #{other_id}" in w.value for w in at.warning)
    assert "Sem evidência: sem arquivo de validação." in texts(at)
    at.button(key=f"rejeitar_sem_{other_id}").click()
    at.run()
    with session_scope(engine) as session:
        assert session.get(FineTuningJob, other_id).implantacao == "rejeitado"


def test_the_screen_opened_without_a_session_shows_nothing_but_a_login_notice(engine, held_job):
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=30)
    at.run()
    assert [w.value for w in at.warning] == ["Entre no Curadoria para ver esta página."]
    assert not at.text and not at.selectbox and not at.button
