"""Evaluating a new model on held-out conversations before it answers customers.

The candidate and the model in use each sit on their own local fake OpenAI-compatible
server (tests/fake_openai.py), asked through the real openai SDK over HTTP.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from core import config as config_module
from core.training.dataset import build_training_files
from core.db import session_scope, upgrade_database
from core.errors import InvalidInput, NotFound
from core.finetune.evaluate import (
    Endpoint,
    NoHeldOutExamples,
    approve,
    compare_rows,
    decide,
    get_evaluation,
    job_files_dir,
    judge_from_settings,
    latest_evaluation,
    list_evaluations,
    read_held_out,
    reject,
    run_evaluation,
)
from core.finetune.judge import combine, parse_verdict
from core.db.tables import FineTuningJob
from core.db.tables_avaliacao import AvaliacaoExemplo, AvaliacaoModelo
from tests.conftest import PG_ADMIN_URL
from tests.fake_openai import FakeOpenAI
from tests.finetune_helpers import make_cliente

ROOT = Path(__file__).resolve().parent.parent
CANDIDATO = "ft:gpt-4o-mini-2024-07-18:fake-org:loja-do-joao:abc123"
ATUAL = "gpt-4o-mini-2024-07-18"
JUIZ = "juiz-gpt"
FALLBACK = "Não tenho essa informação, desculpe."
VAGA = "Ótima pergunta! Fique à vontade para perguntar o que quiser."


def numero(messages) -> str:
    """The conversa's number (make_cliente puts it in the first customer message)."""
    text_ = " ".join(m["content"] for m in messages if m["role"] == "user")
    return re.search(r"loja (\d+)", text_).group(1)


def curada(messages) -> str:
    return f"Sim, entregamos aos sábados até as 14h ({numero(messages)})."


def proper(messages) -> str:
    return "Sim, entregamos aos sábados, até as 14h."


@pytest.fixture
def eval_settings(settings, monkeypatch):
    """The gate on; half of the good conversas held out; fast retries; the SDK's own
    retries off."""
    monkeypatch.setenv("CURADORIA_AVALIACAO_ATIVA", "true")
    monkeypatch.setenv("CURADORIA_DATASET_FRACAO_VALIDACAO", "0.5")
    monkeypatch.setenv("CURADORIA_AVALIACAO_BACKOFF_SECONDS", "0.02")
    monkeypatch.setenv("CURADORIA_OPENAI_MAX_RETRIES", "0")
    monkeypatch.setenv("CURADORIA_AVALIACAO_CONCORRENCIA", "4")
    config_module.reset_settings()
    yield config_module.get_settings()
    config_module.reset_settings()


@pytest.fixture
def servers():
    """Two endpoints with their own keys: the team's vLLM (candidate) and the OpenAI API."""
    vllm = FakeOpenAI(api_key="vllm-key").start()
    openai_ = FakeOpenAI().start()
    yield vllm, openai_
    vllm.stop()
    openai_.stop()


@pytest.fixture
def job_id(engine, eval_settings) -> int:
    """A succeeded job whose files (train + validation) were written as the start writes them."""
    cliente_id = make_cliente(engine, boas=40, ruins=10, sem=0)
    with session_scope(engine) as session:
        job = FineTuningJob(cliente_id=cliente_id, status="succeeded", modelo_base=ATUAL,
                            modelo_fine_tuned=CANDIDATO)
        session.add(job)
        session.flush()
        report = build_training_files(session, cliente_id, job_files_dir(job.id, eval_settings))
        assert report.exemplos_validacao >= 10
        return job.id


def endpoints(servers) -> tuple[Endpoint, Endpoint]:
    vllm, openai_ = servers
    return (Endpoint(CANDIDATO, vllm.base_url, "vllm-key"),
            Endpoint(ATUAL, openai_.base_url, openai_.api_key))


def held_out_count(engine, avaliacao_id) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(AvaliacaoExemplo)
                           .where(AvaliacaoExemplo.avaliacao_id == avaliacao_id))


def asked_numbers(fake, model, status=200) -> Counter:
    return Counter(numero(r["messages"]) for r in fake.chat_requests(model, status=status))


# --- (a) / (b): the decision ---------------------------------------------------------------

def test_a_candidate_that_says_it_has_no_information_waits_for_approval(
        engine, job_id, servers):
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, FALLBACK)
    openai_.chat_model(ATUAL, proper)
    evaluation = run_evaluation(engine, job_id, *endpoints(servers), criada_por="ana")

    assert evaluation.status == "concluida"
    assert evaluation.decisao == "aguardando_aprovacao"
    assert evaluation.decidida_por is None
    n = evaluation.exemplos
    assert n >= 10 and held_out_count(engine, evaluation.id) == n
    resumo = evaluation.resumo
    assert resumo["candidato"]["respostas_com_problema"] == n
    assert resumo["candidato"]["problemas"] == {"fallback": n}
    assert resumo["atual"]["respostas_com_problema"] == 0
    assert resumo["candidato"]["chrf_medio"] < resumo["atual"]["chrf_medio"]
    assert evaluation.criada_por == "ana"
    assert (evaluation.endpoint_candidato, evaluation.endpoint_atual) == (vllm.base_url,
                                                                          openai_.base_url)
    with session_scope(engine) as session:
        rows = compare_rows(session, evaluation.id)
    assert [r.mudanca for r in rows] == ["piorou"] * n
    assert rows[0].resposta_candidato == FALLBACK and rows[0].problemas_candidato == ["fallback"]
    assert rows[0].resposta_curada.startswith("Sim, entregamos aos sábados até as 14h (")


def test_a_candidate_that_answers_better_is_approved_automatically(engine, job_id, servers):
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, curada)
    openai_.chat_model(ATUAL, VAGA)
    evaluation = run_evaluation(engine, job_id, *endpoints(servers))

    assert (evaluation.status, evaluation.decisao) == ("concluida", "aprovado")
    assert evaluation.decidida_por == "automatico" and evaluation.decidida_em is not None
    resumo = evaluation.resumo
    assert resumo["candidato"]["respostas_com_problema"] == 0
    assert resumo["atual"]["problemas"] == {"vaga": evaluation.exemplos}
    assert resumo["candidato"]["chrf_medio"] == 100.0
    assert resumo["melhorou"] == evaluation.exemplos


def test_every_question_is_the_conversa_cut_before_its_last_answer(engine, job_id, servers):
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, curada)
    openai_.chat_model(ATUAL, proper)
    run_evaluation(engine, job_id, *endpoints(servers))
    request = vllm.chat_requests(CANDIDATO)[0]["messages"]
    assert [m["role"] for m in request] == ["system", "user", "assistant", "user"]
    assert request[0]["content"] == "Você é o atendente da loja."
    assert request[-1]["content"] == "Vocês entregam no sábado?"


def test_the_gate_turned_off_approves_even_a_worse_candidate(engine, job_id, servers,
                                                             monkeypatch):
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, FALLBACK)
    openai_.chat_model(ATUAL, proper)
    monkeypatch.setenv("CURADORIA_AVALIACAO_ATIVA", "false")
    config_module.reset_settings()
    assert run_evaluation(engine, job_id, *endpoints(servers)).decisao == "aprovado"


def test_decide_needs_no_more_problem_answers_and_half_the_judges_wins(eval_settings):
    def resumo(problemas_c, problemas_a, taxa=None):
        juiz = None if taxa is None else {"julgados": 10, "taxa_vitoria": taxa}
        return {"candidato": {"respostas_com_problema": problemas_c},
                "atual": {"respostas_com_problema": problemas_a}, "juiz": juiz}

    assert decide(resumo(2, 2), eval_settings) == "aprovado"
    assert decide(resumo(1, 3), eval_settings) == "aprovado"
    assert decide(resumo(3, 2), eval_settings) == "aguardando_aprovacao"
    assert decide(resumo(0, 0, taxa=0.5), eval_settings) == "aprovado"
    assert decide(resumo(0, 0, taxa=0.45), eval_settings) == "aguardando_aprovacao"


# --- (c): a crash mid-run resumes without asking again -----------------------------------

def test_an_endpoint_that_breaks_mid_run_fails_the_evaluation_and_a_new_run_asks_only_the_rest(
        engine, job_id, servers):
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, curada, fail_after=5)
    openai_.chat_model(ATUAL, proper)
    first = run_evaluation(engine, job_id, *endpoints(servers))

    assert first.status == "falhou" and first.decisao is None
    assert "erro 500" in first.erro and CANDIDATO in first.erro
    with session_scope(engine) as session:
        stored = session.scalar(select(func.count()).select_from(AvaliacaoExemplo).where(
            AvaliacaoExemplo.avaliacao_id == first.id,
            AvaliacaoExemplo.resposta_candidato.is_not(None)))
    assert stored == 5  # every answer obtained was written before the run gave up
    asked_before = len(vllm.chat_requests(CANDIDATO))
    current_before = asked_numbers(openai_, ATUAL)

    vllm.chat_model(CANDIDATO, curada)  # the endpoint is back
    second = run_evaluation(engine, job_id, *endpoints(servers))

    assert second.id == first.id and second.status == "concluida"
    assert len(vllm.chat_requests(CANDIDATO)) - asked_before == first.exemplos - 5
    assert set(asked_numbers(vllm, CANDIDATO).values()) == {1}  # no example answered twice
    assert len(asked_numbers(vllm, CANDIDATO)) == first.exemplos
    assert set(asked_numbers(openai_, ATUAL).values()) == {1}
    assert len(asked_numbers(openai_, ATUAL)) == first.exemplos


def test_a_run_killed_mid_way_is_resumed_and_only_the_missing_answers_are_asked(
        engine, job_id, servers):
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, curada, latency=0.02)
    openai_.chat_model(ATUAL, proper, latency=0.02)

    def crash(feitas, total):
        if feitas == 7:
            raise KeyboardInterrupt  # as if the process were killed here

    with pytest.raises(KeyboardInterrupt):
        run_evaluation(engine, job_id, *endpoints(servers), progresso=crash)
    for thread in threading.enumerate():
        if thread.name.startswith("avaliacao"):
            thread.join(10)  # the calls already on the wire end (their answers are lost)
    with session_scope(engine) as session:
        crashed = session.scalar(select(AvaliacaoModelo))
        assert crashed.status == "executando"
        rows = session.scalars(select(AvaliacaoExemplo)
                               .where(AvaliacaoExemplo.avaliacao_id == crashed.id)).all()
        contextos = {r.indice: json.loads(r.contexto) for r in rows}
        kept = {(r.indice, lado): getattr(r, f"resposta_{lado}") for r in rows
                for lado in ("candidato", "atual") if getattr(r, f"resposta_{lado}")}
    assert len(kept) == 7
    before = {m: len(f.chat_requests(m)) for f, m in ((vllm, CANDIDATO), (openai_, ATUAL))}

    resumed = run_evaluation(engine, job_id, *endpoints(servers))

    assert resumed.id == crashed.id and resumed.status == "concluida"
    after = {CANDIDATO: vllm.chat_requests(CANDIDATO)[before[CANDIDATO]:],
             ATUAL: openai_.chat_requests(ATUAL)[before[ATUAL]:]}
    assert sum(len(r) for r in after.values()) == 2 * resumed.exemplos - len(kept)
    for (indice, lado), resposta in kept.items():
        model = CANDIDATO if lado == "candidato" else ATUAL
        assert numero(contextos[indice]) not in {numero(r["messages"]) for r in after[model]}
    with session_scope(engine) as session:
        for (indice, lado), resposta in kept.items():
            row = session.get(AvaliacaoExemplo, (resumed.id, indice))
            assert getattr(row, f"resposta_{lado}") == resposta


# --- (d): the judge, asked twice with the order swapped ----------------------------------

def judge_preferring(word: str):
    """A position-consistent judge: prefers the answer that contains `word`."""
    def answer(messages) -> str:
        prompt = messages[-1]["content"]
        a = prompt.split("## Resposta A\n")[1].split("\n\n## Resposta B")[0]
        vencedor = "A" if word in a else "B"
        return json.dumps({"vencedor": vencedor, "motivo": "mais específica"})
    return answer


def run_with_judge(engine, job_id, servers, judge_answer, candidato=curada, atual=proper):
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, candidato)
    openai_.chat_model(ATUAL, atual)
    openai_.chat_model(JUIZ, judge_answer)
    juiz = Endpoint(JUIZ, openai_.base_url, openai_.api_key)
    return run_evaluation(engine, job_id, *endpoints(servers), juiz)


def test_a_judge_that_always_picks_the_first_answer_counts_as_a_tie(engine, job_id, servers):
    evaluation = run_with_judge(engine, job_id, servers,
                                json.dumps({"vencedor": "A", "motivo": "primeira"}))
    _, openai_ = servers
    n = evaluation.exemplos
    requests = openai_.chat_requests(JUIZ)
    assert len(requests) == 2 * n
    assert all(r["response_format"]["type"] == "json_schema" for r in requests)
    juiz = evaluation.resumo["juiz"]
    assert (juiz["julgados"], juiz["empates"], juiz["inconsistentes"]) == (n, n, n)
    assert juiz["taxa_vitoria"] == 0.5
    assert evaluation.decisao == "aprovado"  # not worse: same problems, half the "wins"
    with session_scope(engine) as session:
        row = compare_rows(session, evaluation.id)[0]
    assert row.juiz["ordem_original"] == row.juiz["ordem_invertida"] == "A"
    assert row.juiz["resultado"] == "empate" and row.juiz["consistente"] is False


def test_the_judge_sees_both_orders_of_the_same_two_answers(engine, job_id, servers):
    run_with_judge(engine, job_id, servers, json.dumps({"vencedor": "empate", "motivo": "-"}))
    _, openai_ = servers
    by_conversa: dict[str, list[str]] = {}
    for request in openai_.chat_requests(JUIZ):
        prompt = request["messages"][-1]["content"]
        a = prompt.split("## Resposta A\n")[1].split("\n\n## Resposta B")[0]
        by_conversa.setdefault(numero([{"role": "user", "content": prompt}]), []).append(a)
    for number, firsts in by_conversa.items():
        assert sorted(firsts) == sorted([curada([{"role": "user", "content": f"loja {number}"}]),
                                         proper([])])


def test_a_consistent_judge_decides_who_wins(engine, job_id, servers):
    evaluation = run_with_judge(engine, job_id, servers, judge_preferring("14h ("))
    juiz = evaluation.resumo["juiz"]
    assert (juiz["vitorias"], juiz["derrotas"], juiz["taxa_vitoria"]) == (
        evaluation.exemplos, 0, 1.0)
    assert evaluation.decisao == "aprovado"


def test_a_judge_preferring_the_model_in_use_holds_the_candidate_back(engine, job_id, servers):
    evaluation = run_with_judge(engine, job_id, servers, judge_preferring("sábados,"))
    assert evaluation.resumo["juiz"]["derrotas"] == evaluation.exemplos
    assert evaluation.resumo["candidato"]["respostas_com_problema"] == 0
    assert evaluation.decisao == "aguardando_aprovacao"
    with session_scope(engine) as session:
        assert {r.mudanca for r in compare_rows(session, evaluation.id)} == {"piorou"}


def test_verdicts_are_read_from_json_or_text_and_only_agreement_counts():
    assert parse_verdict('{"vencedor": "B", "motivo": "ok"}') == ("B", "ok")
    assert parse_verdict('Resposta: {"vencedor": "empate"') == ("empate", "")
    assert parse_verdict("não sei") == (None, "")
    assert combine("A", "B") == "candidato"
    assert combine("B", "A") == "atual"
    assert combine("A", "A") == combine("B", "B") == combine("A", "empate") == "empate"
    assert combine(None, "B") == "empate"


# --- (e): retries ---------------------------------------------------------------------------

def test_a_429_is_retried_after_the_endpoints_retry_after(engine, job_id, servers):
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, curada)
    openai_.chat_model(ATUAL, proper)
    vllm.fail("chat.completions", "rate_limit", model=CANDIDATO)  # retry-after: 1
    started = time.perf_counter()
    evaluation = run_evaluation(engine, job_id, *endpoints(servers))

    assert evaluation.status == "concluida"
    assert len(vllm.chat_requests(CANDIDATO, status=429)) == 1
    assert len(vllm.chat_requests(CANDIDATO)) == evaluation.exemplos
    assert time.perf_counter() - started >= 1.0  # the backoff setting alone is 0.02 s


def test_a_slow_answer_times_out_and_is_asked_again(engine, job_id, servers, monkeypatch):
    monkeypatch.setenv("CURADORIA_AVALIACAO_TIMEOUT_SECONDS", "0.5")
    config_module.reset_settings()
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, curada)
    openai_.chat_model(ATUAL, proper)
    openai_.fail("chat.completions", "slow", delay=2.0, model=ATUAL)
    evaluation = run_evaluation(engine, job_id, *endpoints(servers))
    assert evaluation.status == "concluida"
    assert evaluation.resumo["atual"]["respondidos"] == evaluation.exemplos


def test_endless_429s_fail_the_evaluation_with_a_clear_message(engine, job_id, servers):
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, curada)
    openai_.chat_model(ATUAL, proper)
    vllm.fail("chat.completions", "rate_limit", times=1000, model=CANDIDATO,
              headers={"retry-after": "0", "retry-after-ms": "5"})
    evaluation = run_evaluation(engine, job_id, *endpoints(servers))
    assert evaluation.status == "falhou"
    assert "limitando as requisições (erro 429)" in evaluation.erro
    assert "4 tentativas" in evaluation.erro


def test_a_model_the_endpoint_does_not_serve_fails_with_its_name(engine, job_id, servers):
    _, openai_ = servers
    openai_.chat_model(ATUAL, proper)
    evaluation = run_evaluation(engine, job_id, *endpoints(servers))
    assert evaluation.status == "falhou"
    assert f"O modelo {CANDIDATO} não foi encontrado no endpoint" in evaluation.erro


def test_a_wrong_key_for_one_endpoint_is_reported_for_that_endpoint(engine, job_id, servers):
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, curada)
    openai_.chat_model(ATUAL, proper)
    candidate, _ = endpoints(servers)
    wrong = Endpoint(ATUAL, openai_.base_url, "vllm-key")
    evaluation = run_evaluation(engine, job_id, candidate, wrong)
    assert evaluation.status == "falhou"
    assert f"O endpoint {openai_.base_url} recusou a chave" in evaluation.erro
    assert "vllm-key" not in evaluation.erro and "vllm-key" not in repr(wrong)


# --- cost -----------------------------------------------------------------------------------

def test_cost_is_tokens_times_the_models_price_and_only_tokens_without_a_price(
        engine, job_id, servers):
    vllm, openai_ = servers
    usage = lambda messages, content: {"prompt_tokens": 1000, "completion_tokens": 100}  # noqa: E731
    vllm.chat_model(CANDIDATO, curada, usage=usage)
    openai_.chat_model(ATUAL, proper, usage=usage)
    evaluation = run_evaluation(engine, job_id, *endpoints(servers))
    n = evaluation.exemplos
    candidato, atual = evaluation.resumo["candidato"], evaluation.resumo["atual"]
    assert (candidato["tokens_entrada"], candidato["tokens_saida"]) == (1000 * n, 100 * n)
    # ft:gpt-4o-mini: US$ 0.30 in / 1.20 out per 1M; gpt-4o-mini: 0.15 / 0.60.
    assert Decimal(candidato["custo_usd"]) == Decimal("0.00042") * n
    assert Decimal(atual["custo_usd"]) == Decimal("0.00021") * n
    assert evaluation.custo_usd == Decimal("0.00063") * n

    adapter = Endpoint("loja-do-joao-job-7", vllm.base_url, "vllm-key")
    vllm.chat_model("loja-do-joao-job-7", curada, usage=usage)
    with session_scope(engine) as session:
        session.get(FineTuningJob, job_id).modelo_fine_tuned = "loja-do-joao-job-7"
    _, current = endpoints(servers)
    lora = run_evaluation(engine, job_id, adapter, current)
    assert lora.resumo["candidato"]["custo_usd"] is None
    assert lora.resumo["candidato"]["tokens_entrada"] == 1000 * n
    assert lora.custo_usd is None


# --- held-out examples --------------------------------------------------------------------

def test_held_out_examples_are_spread_over_the_validation_file_up_to_the_limit(tmp_path):
    lines = [json.dumps({"messages": [{"role": "user", "content": f"pergunta {i}"},
                                      {"role": "assistant", "content": f"resposta {i}"}]})
             for i in range(100)]
    (tmp_path / "loja-validation.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    examples = read_held_out(tmp_path, 5)
    assert [e.resposta_curada for e in examples] == [f"resposta {i}" for i in (0, 20, 40, 60, 80)]
    assert examples[1].linha == 21
    assert examples[1].contexto == [{"role": "user", "content": "pergunta 20"}]


def test_a_line_without_an_answer_after_a_question_is_skipped(tmp_path):
    lines = ['{"messages": [{"role": "assistant", "content": "oi"}]}', "não é json",
             json.dumps({"messages": [
                 {"role": "system", "content": "s"}, {"role": "user", "content": "a"},
                 {"role": "assistant", "content": "b", "weight": 0},
                 {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]})]
    (tmp_path / "x-validation.jsonl").write_text("\n".join(lines), encoding="utf-8")
    [example] = read_held_out(tmp_path, 50)
    assert example.linha == 3 and example.resposta_curada == "d"
    assert example.contexto[2] == {"role": "assistant", "content": "b"}


def test_a_job_without_a_validation_file_cannot_be_evaluated(engine, job_id, servers,
                                                            eval_settings):
    for path in job_files_dir(job_id, eval_settings).glob("*-validation.jsonl"):
        path.unlink()
    with pytest.raises(NoHeldOutExamples, match="Não há arquivo de validação"):
        run_evaluation(engine, job_id, *endpoints(servers))
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AvaliacaoModelo)) == 0


def test_only_a_succeeded_job_can_be_evaluated(engine, job_id, servers):
    with session_scope(engine) as session:
        session.get(FineTuningJob, job_id).status = "running"
    with pytest.raises(InvalidInput, match="não terminou com sucesso"):
        run_evaluation(engine, job_id, *endpoints(servers))
    with pytest.raises(NotFound):
        run_evaluation(engine, 999_999, *endpoints(servers))


def test_the_limit_setting_caps_the_examples(engine, job_id, servers, monkeypatch):
    monkeypatch.setenv("CURADORIA_AVALIACAO_MAX_EXEMPLOS", "3")
    config_module.reset_settings()
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, curada)
    openai_.chat_model(ATUAL, proper)
    assert run_evaluation(engine, job_id, *endpoints(servers)).exemplos == 3
    assert len(vllm.chat_requests(CANDIDATO)) == 3


# --- reading and deciding by hand ----------------------------------------------------------

def test_evaluations_are_listed_newest_first_per_cliente_and_job(engine, job_id, servers):
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, curada)
    openai_.chat_model(ATUAL, proper)
    first = run_evaluation(engine, job_id, *endpoints(servers))
    second = run_evaluation(engine, job_id, *endpoints(servers))  # a finished one is not resumed
    with session_scope(engine) as session:
        cliente_id = session.get(FineTuningJob, job_id).cliente_id
        assert [e.id for e in list_evaluations(session, cliente_id=cliente_id)] == [
            second.id, first.id]
        assert list_evaluations(session, cliente_id=cliente_id + 1) == []
        assert latest_evaluation(session, job_id).id == second.id
        assert get_evaluation(session, first.id).resumo == first.resumo


def test_an_admin_approves_or_rejects_a_held_back_candidate_once(engine, job_id, servers):
    vllm, openai_ = servers
    vllm.chat_model(CANDIDATO, FALLBACK)
    openai_.chat_model(ATUAL, proper)
    evaluation = run_evaluation(engine, job_id, *endpoints(servers))
    with session_scope(engine) as session:
        approved = approve(session, evaluation.id, "ana")
        assert (approved.decisao, approved.decidida_por) == ("aprovado", "ana")
        assert approve(session, evaluation.id, "bruno").decidida_por == "ana"  # double click
        with pytest.raises(InvalidInput, match="já foi decidida"):
            reject(session, evaluation.id, "bruno")
    with session_scope(engine) as session:
        row = session.get(AvaliacaoModelo, evaluation.id)
        assert (row.decisao, row.decidida_por) == ("aprovado", "ana")


def test_a_failed_evaluation_can_be_rejected_but_not_approved(engine, job_id, servers):
    _, openai_ = servers
    openai_.chat_model(ATUAL, proper)  # the candidate's endpoint serves nothing
    evaluation = run_evaluation(engine, job_id, *endpoints(servers))
    with session_scope(engine) as session:
        with pytest.raises(InvalidInput, match="rode a avaliação de novo"):
            approve(session, evaluation.id, "ana")
        assert reject(session, evaluation.id, "ana").decisao == "rejeitado"
        with pytest.raises(NotFound):
            approve(session, 999_999, "ana")


def test_the_judge_comes_from_the_settings(eval_settings, monkeypatch):
    assert judge_from_settings(eval_settings) is None
    monkeypatch.setenv("CURADORIA_JUIZ_MODELO", "gpt-4.1-2025-04-14")
    monkeypatch.setenv("CURADORIA_JUIZ_ENDPOINT", "http://juiz:8000/v1")
    monkeypatch.setenv("CURADORIA_JUIZ_API_KEY", "sk-juiz")
    config_module.reset_settings()
    judge = judge_from_settings()
    assert (judge.model, judge.base_url, judge.api_key) == (
        "gpt-4.1-2025-04-14", "http://juiz:8000/v1", "sk-juiz")


# --- offline and schema ---------------------------------------------------------------------

def test_chrf_is_computed_without_the_network_or_any_download(tmp_path):
    code = ("import socket\n"
            "def refuse(*a, **k): raise OSError('network used')\n"
            "socket.socket.connect = refuse\n"
            "socket.create_connection = refuse\n"
            "from core.finetune.scoring import chrf\n"
            "print(chrf('Abrimos às 8h.', 'Abrimos às 8h.'), chrf('', 'Abrimos às 8h.'))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["100.0", "0.0"]
    assert list(tmp_path.iterdir()) == []  # nothing cached in the home directory


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migra.db'}"
        return
    name = f"curadoria_test_eval_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    from core.db import get_engine
    get_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}").dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_evaluation_tables_migrate_down_and_up_again(fresh_url):
    upgrade_database(fresh_url)
    from alembic import command

    from core.db import get_engine
    from core.db.migrate import alembic_config

    engine = get_engine(fresh_url)
    config = alembic_config(fresh_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    assert "avaliacoes_modelo" not in inspect(engine).get_table_names()
    from alembic.script import ScriptDirectory

    assert upgrade_database(fresh_url) == ScriptDirectory.from_config(config).get_current_head()
    tables = inspect(engine).get_table_names()
    assert {"avaliacoes_modelo", "avaliacoes_exemplos"} <= set(tables)
