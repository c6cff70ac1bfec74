"""The LLM problem classifier (issue 20, acceptance 2), through the real openai SDK against
the local fake OpenAI API: structured output, cached per conversa and prompt version (a
second run makes no calls), a cap per run, 429s retried, a failing endpoint falls back
to the rules; `analyze --classificador llm` and the poller's cycle use it."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core import config as config_module
from core.__main__ import main as cli
from core.db import session_scope
from core.db.tables_analise import ClassificacaoLLM, ConversaProblema
from core.poller.cycle import run_analysis
from core.review.analysis import analyze_pending, queue_all
from core.review.classifier import FORMATO, VERSAO_PROMPT, classifier_from_settings, parse_answer
from tests.conversas_factory import add_cliente, add_conversa, seed_engine

MODELO = "classificador-teste"
# The rules see nothing wrong here; the scripted model says "humano" for every conversa.
COMUM = ["qual o horário de sábado?", "Sábado abrimos das 8h às 14h.", "obrigado"]
FALLBACK = ["tem dipirona?", "Desculpe, não encontrei essa informação.", "ok"]


@pytest.fixture
def llm(fake_openai, monkeypatch):
    monkeypatch.setenv("CURADORIA_CLASSIFICADOR", "llm")
    monkeypatch.setenv("CURADORIA_CLASSIFICADOR_MODELO", MODELO)
    monkeypatch.setenv("CURADORIA_AVALIACAO_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("CURADORIA_AVALIACAO_MAX_TENTATIVAS", "3")
    config_module.reset_settings()
    fake_openai.chat_model(MODELO, lambda messages: json.dumps({"problemas": ["humano"]}))
    return fake_openai


def _seed(engine, conversas) -> list[int]:
    ids = []

    def build(session):
        cliente = add_cliente(session)
        ids.extend(add_conversa(session, cliente, m).id for m in conversas)
    seed_engine(engine, build)
    return ids


def _problemas(engine) -> dict[int, list[str]]:
    with session_scope(engine) as session:
        found: dict[int, list[str]] = {}
        for cid, codigo in session.execute(select(ConversaProblema.conversa_id, ConversaProblema.codigo)):
            found.setdefault(cid, []).append(codigo)
        return found


def test_llm_answers_are_used_and_cached_so_a_second_run_makes_no_calls(engine, llm):
    ids = _seed(engine, [COMUM, COMUM, FALLBACK])
    primeiro = classifier_from_settings()
    assert analyze_pending(engine, classificador=primeiro) == 3
    assert primeiro.uso.perguntadas == 3 and primeiro.uso.do_cache == 0
    assert _problemas(engine) == {i: ["humano"] for i in ids}
    pedidos = llm.chat_requests(MODELO)
    assert len(pedidos) == 3
    assert pedidos[0]["response_format"] == FORMATO
    assert "fallback" in pedidos[0]["messages"][0]["content"]  # the fixed pt-BR prompt
    assert "Cliente: qual o horário de sábado?" in pedidos[0]["messages"][1]["content"]
    with session_scope(engine) as session:
        assert {r.versao_prompt for r in session.scalars(select(ClassificacaoLLM))} == {VERSAO_PROMPT}
        queue_all(session)
    segundo = classifier_from_settings()
    assert analyze_pending(engine, classificador=segundo) == 3
    assert segundo.uso.perguntadas == 0 and segundo.uso.do_cache == 3
    assert len(llm.chat_requests(MODELO, status=None)) == 3  # no new call
    assert _problemas(engine) == {i: ["humano"] for i in ids}


def test_a_conversa_that_changed_is_asked_again(engine, llm):
    [cid] = _seed(engine, [COMUM])
    analyze_pending(engine, classificador=classifier_from_settings())
    with session_scope(engine) as session:
        row = session.scalars(select(ClassificacaoLLM)).one()
        row.conteudo_hash = "outro"
        queue_all(session)
    classificador = classifier_from_settings()
    analyze_pending(engine, classificador=classificador)
    assert classificador.uso.perguntadas == 1 and len(llm.chat_requests(MODELO)) == 2


def test_the_cap_holds_and_the_rest_is_analysed_by_the_rules(engine, llm, monkeypatch):
    monkeypatch.setenv("CURADORIA_CLASSIFICADOR_MAX_CONVERSAS", "2")
    config_module.reset_settings()
    ids = _seed(engine, [COMUM, COMUM, FALLBACK, FALLBACK, FALLBACK])
    classificador = classifier_from_settings()
    assert analyze_pending(engine, lote=2, classificador=classificador) == 5
    assert len(llm.chat_requests(MODELO, status=None)) == 2
    assert (classificador.uso.perguntadas, classificador.uso.acima_do_limite) == (2, 3)
    assert _problemas(engine) == {ids[0]: ["humano"], ids[1]: ["humano"], ids[2]: ["fallback"],
                                  ids[3]: ["fallback"], ids[4]: ["fallback"]}


def test_a_429_is_retried(engine, llm):
    llm.fail("chat.completions", "rate_limit", times=1,
             headers={"retry-after": "0"})
    ids = _seed(engine, [COMUM])
    classificador = classifier_from_settings()
    analyze_pending(engine, classificador=classificador)
    assert classificador.uso.falhou is None and classificador.uso.perguntadas == 1
    assert len(llm.chat_requests(MODELO, status=None)) == 2
    assert _problemas(engine) == {ids[0]: ["humano"]}


def test_a_failing_endpoint_falls_back_to_the_rules(engine, llm):
    llm.fail("chat.completions", "server_error", times=50)
    ids = _seed(engine, [COMUM, FALLBACK])
    classificador = classifier_from_settings()
    assert analyze_pending(engine, classificador=classificador) == 2
    assert classificador.uso.falhou and classificador.uso.perguntadas == 0
    assert _problemas(engine) == {ids[1]: ["fallback"]}
    with session_scope(engine) as session:
        assert session.scalars(select(ClassificacaoLLM)).all() == []


def test_an_unknown_model_falls_back_too(engine, llm, monkeypatch):
    monkeypatch.setenv("CURADORIA_CLASSIFICADOR_MODELO", "nao-existe")
    config_module.reset_settings()
    ids = _seed(engine, [FALLBACK])
    classificador = classifier_from_settings()
    analyze_pending(engine, classificador=classificador)
    assert "nao-existe" in classificador.uso.falhou
    assert _problemas(engine) == {ids[0]: ["fallback"]}


def test_rules_are_the_default_and_the_fallback_without_a_model(engine, monkeypatch):
    assert classifier_from_settings() is None  # CURADORIA_CLASSIFICADOR defaults to regras
    monkeypatch.setenv("CURADORIA_CLASSIFICADOR", "llm")
    config_module.reset_settings()
    assert classifier_from_settings() is None  # no model configured


def test_the_cli_and_the_poller_use_the_configured_detector(engine, llm, capsys):
    ids = _seed(engine, [COMUM])
    assert cli(["analyze", "--classificador", "llm"]) == 0
    saida = capsys.readouterr().out
    assert f"Classificador LLM ({MODELO}): 1 conversas perguntadas, 0 do cache" in saida
    assert _problemas(engine) == {ids[0]: ["humano"]}
    assert cli(["analyze", "--classificador", "regras", "--refazer"]) == 0
    assert _problemas(engine) == {}
    with session_scope(engine) as session:
        queue_all(session)
    run_analysis(engine)  # CURADORIA_CLASSIFICADOR=llm: from the cache, no new call
    assert _problemas(engine) == {ids[0]: ["humano"]}
    assert len(llm.chat_requests(MODELO, status=None)) == 1


def test_parse_answer_keeps_known_codes_in_order():
    assert parse_answer('{"problemas": ["repetiu", "x", "fallback"]}') == ["fallback", "repetiu"]


def test_cost_is_estimated_before_and_measured_after(engine, llm, monkeypatch):
    monkeypatch.setenv("CURADORIA_AVALIACAO_PRECOS_USD", json.dumps({MODELO: [1.0, 2.0]}))
    config_module.reset_settings()
    _seed(engine, [COMUM, FALLBACK])
    classificador = classifier_from_settings()
    analyze_pending(engine, classificador=classificador)
    uso = classificador.uso
    assert uso.custo_estimado_usd > 0 and uso.tokens_entrada > 0
    assert uso.custo_usd == (uso.tokens_entrada * 1 + uso.tokens_saida * 2) / __import__("decimal").Decimal(1_000_000)
