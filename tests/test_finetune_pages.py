"""The Fine-tuning and Histórico pages (Streamlit AppTest, real database, fake OpenAI)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import config as config_module
from core.clientes.directory import get_cliente
from core.db import session_scope
from core.db.tables import FineTuningJob
from core.finetune.provider import ProviderUnavailable
from core.finetune.start import start_fine_tuning
from tests.finetune_helpers import make_cliente
from tests.pages_helpers import logged_in_dashboard, shown

PAGE = "pages/screens/fine_tuning.py"


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _texts(at):
    return shown(" ".join([*(m.value for m in at.markdown), *(c.value for c in at.caption),
                           *(t.value for t in at.text), *(w.value for w in at.warning),
                           *(i.value for i in at.info), *(e.value for e in at.error)]))


def _rows(engine):
    with session_scope(engine) as session:
        return list(session.scalars(select(FineTuningJob)))


def test_ct5_the_button_is_disabled_with_the_reason_below_the_thresholds(engine, fake_openai):
    make_cliente(engine, boas=20, ruins=5)
    at = logged_in_dashboard(engine, page=PAGE)
    assert not at.exception
    botao = _button(at, "Iniciar Fine-tuning")
    assert botao.disabled
    assert "Faltam 25 conversas avaliadas" in botao.help
    assert "Faltam 10 conversas boas" in _texts(at)


def test_ct6_confirm_dialog_then_one_pending_job(engine, fake_openai):
    make_cliente(engine)
    at = logged_in_dashboard(engine, page=PAGE)
    botao = _button(at, "Iniciar Fine-tuning")
    assert not botao.disabled
    botao.click()
    at.run()
    assert not at.exception
    texto = _texts(at)
    assert "cliente Loja Do Joao" in texto
    assert "Conversas usadas: **40**" in texto
    assert "Custo estimado: **R$ " in texto and "Tempo estimado: **" in texto
    assert "gpt-4o-mini-2024-07-18" in texto and "14/01/2027" in texto
    assert "O processo não pode ser cancelado." in texto
    assert fake_openai.jobs == {}  # nothing spent before confirming
    _button(at, "Sim, Iniciar").click()
    at.run()
    assert not at.exception
    [row] = _rows(engine)
    assert row.status == "pending" and row.iniciado_por == "ana"
    assert len(fake_openai.jobs) == 1
    assert any(f"job #{row.id}, pendente" in t.value for t in at.toast)
    assert f"Job #{row.id}: Pendente" in _texts(at)
    assert _button(at, "Iniciar Fine-tuning").disabled


def test_cancel_in_the_dialog_starts_nothing(engine, fake_openai):
    make_cliente(engine)
    at = logged_in_dashboard(engine, page=PAGE)
    _button(at, "Iniciar Fine-tuning").click()
    at.run()
    _button(at, "Cancelar").click()
    at.run()
    assert not at.exception and _rows(engine) == [] and fake_openai.jobs == {}
    assert "O processo não pode ser cancelado." not in _texts(at)


def test_a_refusal_is_shown_in_portuguese_in_the_dialog(engine, fake_openai):
    make_cliente(engine)
    fake_openai.fail("jobs.create", "refusal")
    at = logged_in_dashboard(engine, page=PAGE)
    _button(at, "Iniciar Fine-tuning").click()
    at.run()
    _button(at, "Sim, Iniciar").click()
    at.run()
    assert not at.exception
    assert any("recusou o fine-tuning" in shown(e.value) for e in at.error)
    [row] = _rows(engine)
    assert row.status == "failed"


def test_historico_lists_jobs_and_filters_by_cliente_and_status(engine, fake_openai):
    a = make_cliente(engine, slug="loja-a")
    make_cliente(engine, slug="loja-b")
    start_fine_tuning(engine, a, "ana")
    fake_openai.fail("jobs.create", "unavailable")
    with session_scope(engine) as session:
        b = get_cliente(session, "loja-b").id
    with pytest.raises(ProviderUnavailable):
        start_fine_tuning(engine, b, "ana")
    at = logged_in_dashboard(engine, page="pages/screens/historico.py")
    assert not at.exception
    df = at.dataframe[0].value
    assert sorted(df["Cliente"]) == ["Loja A", "Loja B"]
    assert set(df["Status"]) == {"Pendente", "Falhou"}
    at.selectbox(key="hist_status").set_value("failed").run()
    df = at.dataframe[0].value
    assert list(df["Cliente"]) == ["Loja B"] and "indisponível" in df["Erro"][0]
    at.selectbox(key="hist_status").set_value(None)
    at.selectbox(key="hist_cliente").set_value(a).run()
    df = at.dataframe[0].value
    assert list(df["Cliente"]) == ["Loja A"] and list(df["Status"]) == ["Pendente"]
    assert df["Custo"][0].startswith("R$ ")


def test_without_an_api_key_the_button_says_so(engine, fake_openai, monkeypatch):
    make_cliente(engine)
    monkeypatch.delenv("OPENAI_API_KEY")
    config_module.reset_settings()
    at = logged_in_dashboard(engine, page=PAGE)
    assert not at.exception
    botao = _button(at, "Iniciar Fine-tuning")
    assert botao.disabled and "OPENAI_API_KEY" in shown(botao.help)
