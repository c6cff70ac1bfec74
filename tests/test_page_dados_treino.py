"""The Dados de treino page: edit the system prompt, build the file, see report and preview."""
from __future__ import annotations

import datetime as dt

import pytest

from core.clientes.directory import create_cliente, get_cliente
from core.db import session_scope
from core.db.tables import Conversa, Mensagem
from tests.pages_helpers import logged_in_dashboard

PAGE = "pages/screens/dados_treino.py"


@pytest.fixture
def padaria(engine, monkeypatch):
    monkeypatch.setenv("CURADORIA_DATASET_FRACAO_VALIDACAO", "0")
    from core.config import reset_settings
    reset_settings()
    start = dt.datetime(2026, 11, 1, 12)
    with session_scope(engine) as session:
        cliente = create_cliente(session, "padaria", "Padaria Pão Dourado", system_prompt="Seja gentil.")
        for i in range(11):
            when = start + dt.timedelta(hours=i)
            conversa = Conversa(cliente_id=cliente.id, whatsapp=f"55119{i:08d}", iniciada_em=when,
                                ultima_mensagem_em=when, dia=when.date(), status="finalizada",
                                avaliacao="boa")
            session.add(conversa)
            session.flush()
            user = "meu cpf é 529.982.247-25 **negrito**" if i == 0 else f"tem pão {i}?"
            for j, (role, texto) in enumerate([("user", user), ("assistant", f"Tem sim {i}.")]):
                session.add(Mensagem(conversa_id=conversa.id, cliente_id=cliente.id, role=role,
                                     conteudo=texto, enviada_em=when + dt.timedelta(minutes=j),
                                     redis_key=f"k:{i}:{j}"))
    return "padaria"


def test_the_page_is_in_the_menu_and_shows_the_system_prompt(engine, padaria):
    at = logged_in_dashboard(engine, page=PAGE)
    assert not at.exception
    assert at.title[0].value == "Dados de treino"
    assert at.text_area[0].value == "Seja gentil."


def test_saving_the_system_prompt_changes_the_cliente(engine, padaria):
    at = logged_in_dashboard(engine, page=PAGE)
    at.text_area[0].input("Você é o atendente da padaria.")
    at.button(key="FormSubmitter:form_system_prompt-Salvar system prompt").click()
    at.run()
    assert not at.exception
    assert "System prompt salvo." in [s.value for s in at.success]
    with session_scope(engine) as session:
        assert get_cliente(session, padaria).system_prompt == "Você é o atendente da padaria."


def test_building_the_file_shows_the_report_and_the_downloads(engine, padaria):
    at = logged_in_dashboard(engine, page=PAGE)
    next(b for b in at.button if b.label == "Gerar arquivo de treino").click()
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Exemplos de treino"] == "11"
    assert metrics["Épocas"] == "9"  # 11 x 3 < 100 -> 100 // 11
    assert "O arquivo passa na validação do provedor." in [s.value for s in at.success]
    labels = [el.proto.label for el in at.get("download_button")]
    assert labels == ["Baixar treino (JSONL)"]


def test_the_preview_shows_customer_text_before_and_after_as_plain_text(engine, padaria):
    at = logged_in_dashboard(engine, page=PAGE)
    texts = [t.value for t in at.text]
    assert "Antes: meu cpf é 529.982.247-25 **negrito**" in texts
    assert "Depois: meu cpf é [CPF] **negrito**" in texts
    assert not any("529.982" in m.value for m in at.markdown)


def test_too_few_examples_show_the_blocking_error(engine, monkeypatch):
    monkeypatch.setenv("CURADORIA_DATASET_FRACAO_VALIDACAO", "0")
    from core.config import reset_settings
    reset_settings()
    with session_scope(engine) as session:
        create_cliente(session, "vazio", "Loja Vazia")
    at = logged_in_dashboard(engine, page=PAGE)
    next(b for b in at.button if b.label == "Gerar arquivo de treino").click()
    at.run()
    assert not at.exception
    assert any("pelo menos 10" in e.value for e in at.error)


def test_the_file_preview_shows_the_first_examples_as_the_model_sees_them(engine, padaria):
    at = logged_in_dashboard(engine, page=PAGE)
    assert not at.exception
    texts = [t.value for t in at.text]
    # the first lines of the file: system prompt, then the conversa, redacted
    assert texts[:3] == ["Sistema (system prompt): Seja gentil.",
                         "Cliente: meu cpf é [CPF] **negrito**", "Bot: Tem sim 0."]
    assert "Cliente: tem pão 1?" in texts
    [code] = [c for c in at.code if '"messages"' in c.value]
    assert code.value.splitlines()[0].startswith('{"messages":[{"role":"system","content":"Seja gentil."}')


def test_the_report_labels_the_removed_data_in_portuguese(engine, padaria):
    at = logged_in_dashboard(engine, page=PAGE)
    next(b for b in at.button if b.label == "Gerar arquivo de treino").click()
    at.run()
    assert not at.exception
    tabelas = [df.value for df in at.dataframe]
    assert any("CPF" in list(t.get("Tipo", [])) for t in tabelas)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Custo estimado em dólar"].startswith("US$ ") and "," in metrics["Custo estimado em reais"]
