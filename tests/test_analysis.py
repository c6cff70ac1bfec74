"""Análise de Treinamento on real databases: queue, problems, topics, summary, CSV."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import func, select, update

from core.__main__ import main as cli
from core.clientes.directory import create_cliente
from core.db.tables import Conversa, Mensagem
from core.db.tables_analise import ConversaAnalise
from core.errors import InvalidInput
from core.review.analysis import (
    PROBLEMAS,
    Filtro,
    analyze_pending,
    count_pending,
    count_problems,
    count_topics,
    get_analysis,
    get_overview,
    get_suggestion,
    list_analyses,
    problem_condition,
    queue_all,
)
from core.review.planilha import export_csv

U, A = "user", "assistant"
INICIO = dt.datetime(2026, 11, 10, 12)

BOA = [(U, "Oi"), (A, "Olá! Como posso ajudar?"), (U, "qual o horário de funcionamento?"),
       (A, "Abrimos de segunda a sábado, das 8h às 18h."), (U, "obg!")]
FALLBACK = [(U, "vcs aceitam pix?"), (A, "Desculpe, não encontrei essa informação."), (U, "ok")]
IRRITADO = [(U, "cadê meu pedido 123?"), (A, "Para mais informações, consulte nossos canais oficiais."),
            (U, "que atendimento horrivel, vou reclamar")]
SEM_RESPOSTA = [(U, "bom dia"), (A, "Bom dia! Em que posso ajudar?"), (U, "vocês entregam em Niterói?")]


def add_conversa(session, cliente, mensagens, avaliacao=None, minutos=0, numero=None):
    when = INICIO + dt.timedelta(minutes=minutos)
    conversa = Conversa(cliente_id=cliente.id, whatsapp=numero or f"5511{minutos:09d}",
                        iniciada_em=when, ultima_mensagem_em=when, dia=when.date(),
                        status="finalizada", avaliacao=avaliacao, total_mensagens=len(mensagens))
    session.add(conversa)
    session.flush()
    for i, (role, conteudo) in enumerate(mensagens):
        add_mensagem(session, conversa, role, conteudo, when + dt.timedelta(seconds=i))
    session.flush()
    return conversa


def add_mensagem(session, conversa, role, conteudo, when):
    session.add(Mensagem(conversa_id=conversa.id, cliente_id=conversa.cliente_id, role=role,
                         conteudo=conteudo, enviada_em=when,
                         redis_key=f"conversation:{conversa.whatsapp}:{when.timestamp()}"))


@pytest.fixture
def loja(session):
    return create_cliente(session, "loja", "Loja Teste")


def test_written_messages_queue_their_conversa_and_analysis_drains_the_queue(engine, session, loja):
    conversas = [add_conversa(session, loja, m, minutos=i)
                 for i, m in enumerate([BOA, FALLBACK, IRRITADO, SEM_RESPOSTA])]
    session.commit()
    assert count_pending(session) == 4
    assert analyze_pending(engine) == 4
    assert count_pending(session) == 0
    problemas = {c.id: get_suggestion(session, c.id).problemas for c in conversas}
    assert problemas[conversas[0].id] == []
    assert problemas[conversas[1].id] == ["fallback"]
    assert {"irritado", "sem_resposta", "vaga"} <= set(problemas[conversas[2].id])
    assert problemas[conversas[3].id] == ["sem_resposta"]


def test_a_new_message_requeues_the_conversa_and_the_result_follows_it(engine, session, loja):
    conversa = add_conversa(session, loja, SEM_RESPOSTA)
    session.commit()
    analyze_pending(engine)
    assert get_suggestion(session, conversa.id).problemas == ["sem_resposta"]
    add_mensagem(session, conversa, A, "Entregamos sim, frete de R$ 10,00.", INICIO + dt.timedelta(minutes=5))
    session.commit()
    assert count_pending(session) == 1
    analyze_pending(engine)
    session.expire_all()
    assert get_suggestion(session, conversa.id).problemas == []


def test_analysis_suggests_a_rating_but_never_writes_one(engine, session, loja):
    ruim = add_conversa(session, loja, FALLBACK, minutos=1)
    boa = add_conversa(session, loja, BOA, minutos=2)
    session.commit()
    analyze_pending(engine)
    assert get_suggestion(session, ruim.id).avaliacao_sugerida == "ruim"
    assert get_suggestion(session, boa.id).avaliacao_sugerida == "boa"
    assert session.scalar(select(func.count()).where(Conversa.avaliacao.is_not(None))) == 0


def test_analyze_pending_respects_the_limit_and_refazer_requeues_everything(engine, session, loja):
    for i in range(5):
        add_conversa(session, loja, BOA, minutos=i)
    session.commit()
    assert analyze_pending(engine, limite=2, lote=1) == 2
    assert count_pending(session) == 3
    analyze_pending(engine)
    assert queue_all(session) == 5
    session.commit()
    assert count_pending(session) == 5


def test_problem_condition_filters_conversas_for_the_conversations_screen(engine, session, loja):
    fallback = add_conversa(session, loja, FALLBACK, minutos=1)
    add_conversa(session, loja, BOA, minutos=2)
    session.commit()
    analyze_pending(engine)
    ids = session.scalars(select(Conversa.id).where(problem_condition("fallback"))).all()
    assert ids == [fallback.id]
    assert session.scalars(select(Conversa.id).where(problem_condition("humano"))).all() == []


def test_an_unknown_problem_code_is_refused_in_portuguese():
    with pytest.raises(InvalidInput, match="Problema desconhecido"):
        problem_condition("nada")


def test_problems_are_counted_in_bad_conversas_with_examples(engine, session, loja):
    ruins = [add_conversa(session, loja, FALLBACK, "ruim", minutos=i) for i in range(4)]
    add_conversa(session, loja, FALLBACK, None, minutos=10)  # unrated: not in the bad count
    add_conversa(session, loja, IRRITADO, "ruim", minutos=11)
    session.commit()
    analyze_pending(engine)
    problemas = {p.codigo: p for p in count_problems(session)}
    assert problemas["fallback"].vezes == 4
    assert problemas["fallback"].rotulo == PROBLEMAS["fallback"]
    assert problemas["fallback"].exemplos == [c.id for c in reversed(ruins)][:3]
    assert problemas["irritado"].vezes == 1
    todas = {p.codigo: p.vezes for p in count_problems(session, avaliacao=None)}
    assert todas["fallback"] == 5


def test_problem_counts_follow_a_rating_written_in_plain_sql(engine, session, loja):
    conversa = add_conversa(session, loja, FALLBACK)
    session.commit()
    analyze_pending(engine)
    assert count_problems(session) == []
    session.execute(update(Conversa).where(Conversa.id == conversa.id).values(avaliacao="ruim"))
    assert [p.vezes for p in count_problems(session)] == [1]


def test_summary_per_cliente_and_overall_with_the_seed_recommendation(engine, session, loja):
    outra = create_cliente(session, "outra", "Outra Loja")
    for i in range(15):
        add_conversa(session, loja, BOA, "boa", minutos=i)
    for i in range(3):
        add_conversa(session, loja, FALLBACK, "ruim", minutos=100 + i)
    for i in range(82):
        add_conversa(session, loja, BOA, None, minutos=200 + i)
    add_conversa(session, outra, BOA, "boa", minutos=1)
    overview = get_overview(session)
    resumo = {r.nome: r for r in overview.clientes}["Loja Teste"]
    assert (resumo.total, resumo.boas, resumo.ruins, resumo.sem_avaliacao) == (100, 15, 3, 82)
    assert (resumo.percentual(resumo.boas), resumo.percentual(resumo.sem_avaliacao)) == (15.0, 82.0)
    assert resumo.recomendacao == ("Avalie mais conversas para melhorar o treinamento. "
                                   "Mínimo recomendado: 50 conversas.")
    assert (overview.geral.total, overview.geral.boas) == (101, 16)
    assert overview.prontidao[loja.id].marcadas == 18
    assert not overview.prontidao[loja.id].pronto


def test_no_recommendation_once_the_minimum_is_rated(session, loja):
    for i in range(50):
        add_conversa(session, loja, BOA, "boa" if i < 40 else "ruim", minutos=i)
    assert get_overview(session).clientes[0].recomendacao is None


def test_summary_respects_the_period_and_cliente_filters(session, loja):
    outra = create_cliente(session, "outra", "Outra Loja")
    add_conversa(session, loja, BOA, "boa", minutos=0)
    add_conversa(session, loja, BOA, "ruim", minutos=3 * 24 * 60)
    add_conversa(session, outra, BOA, "boa", minutos=1)
    filtro = Filtro(cliente_id=loja.id, inicio=INICIO.date(), fim=INICIO.date())
    overview = get_overview(session, filtro)
    assert [r.nome for r in overview.clientes] == ["Loja Teste"]
    assert (overview.geral.total, overview.geral.boas, overview.geral.ruins) == (1, 1, 0)


def test_best_answered_topics_count_good_conversas_with_example_questions(engine, session, loja):
    horario = [(U, "vcs abrem domingo?"), (A, "Abrimos aos domingos das 8h às 12h."), (U, "vlw")]
    pix = [(U, "aceita pix?"), (A, "Aceitamos Pix e cartões."), (U, "obrigada")]
    for i in range(3):
        add_conversa(session, loja, horario, "boa", minutos=i)
    add_conversa(session, loja, pix, "boa", minutos=10)
    add_conversa(session, loja, pix, "ruim", minutos=11)  # bad: not a well-answered topic
    session.commit()
    analyze_pending(engine)
    topicos = {t.rotulo: t for t in count_topics(session).topicos}
    assert topicos["Horário de funcionamento"].vezes == 3
    assert topicos["Horário de funcionamento"].exemplos[0][1] == "vcs abrem domingo?"
    assert topicos["Formas de pagamento"].vezes == 1


def test_a_topic_nobody_listed_still_surfaces_by_clustering(engine, session, loja):
    perguntas = ["qual a garantia do liquidificador?", "como acionar a garantia do ventilador?",
                 "a batedeira tem garantia?", "garantia estendida compensa?",
                 "perdi a nota, ainda tenho garantia?"]
    for i, pergunta in enumerate(perguntas * 2):
        add_conversa(session, loja, [(U, pergunta), (A, "A garantia é de 12 meses."), (U, "obg")],
                     "boa", minutos=i)
    session.commit()
    analyze_pending(engine)
    report = count_topics(session)
    novos = [t for t in report.topicos if not t.conhecido]
    assert report.sem_topico == 10
    assert any("garantia" in t.rotulo for t in novos)
    assert sum(t.vezes for t in novos if "garantia" in t.rotulo) >= 8


def test_filtered_table_downloads_as_csv_with_links_and_safe_text(engine, session, loja):
    add_conversa(session, loja, [(U, "=HYPERLINK(\"http://x\") qual o preço?"),
                                 (A, "Não tenho essa informação.")], "ruim", minutos=1)
    conversa = add_conversa(session, loja, BOA, "boa", minutos=2)
    session.commit()
    analyze_pending(engine)
    rows = list_analyses(session, problema="fallback")
    assert [r["avaliacao"] for r in rows] == ["ruim"]
    assert "Bot não encontrou a informação" in rows[0]["problemas"]
    todas = list_analyses(session)
    assert todas[0]["link"] == f"/conversas?conversa={conversa.id}"
    lidas = list(csv.DictReader(io.StringIO(export_csv(rows).decode("utf-8-sig"), newline=""),
                                delimiter=";"))
    assert lidas[0]["Pergunta do cliente"].startswith("'=HYPERLINK")
    assert lidas[0]["Cliente"] == "Loja Teste"


@pytest.mark.parametrize("texto", ["=1+1", "+55 11 9999", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1",
                                   "=HYPERLINK(\"http://x\")"])
def test_csv_cells_that_a_spreadsheet_would_run_as_a_formula_are_kept_as_text(texto):
    [lida] = csv.DictReader(io.StringIO(export_csv([{"pergunta": texto, "cliente": texto}])
                                        .decode("utf-8-sig"), newline=""), delimiter=";")
    assert lida["Pergunta do cliente"] == "'" + texto and lida["Cliente"] == "'" + texto


def test_csv_keeps_ordinary_text_and_numbers_as_they_are():
    [lida] = csv.DictReader(io.StringIO(export_csv([{"pergunta": "Qual o preço? =)", "conversa": 7}])
                                        .decode("utf-8-sig"), newline=""), delimiter=";")
    assert lida["Pergunta do cliente"] == "Qual o preço? =)" and lida["Conversa"] == "7"


def test_the_csv_opens_as_columns_in_a_pt_br_spreadsheet(monkeypatch):
    """';' between cells (a pt-BR Excel splits on it), dates DD/MM/AAAA, decimal comma, links
    absolute from CURADORIA_URL_PUBLICA."""
    monkeypatch.setenv("CURADORIA_URL_PUBLICA", "https://curadoria.exemplo.com.br/")
    from core.config import reset_settings
    reset_settings()
    rows = [{"conversa": 12, "cliente": "Padaria; Pão", "dia": dt.date(2026, 10, 4),
             "avaliacao": "ruim", "avaliacao_sugerida": 0.5, "problemas": "Loop, repetição",
             "topico": "Preços", "pergunta": "quanto custa 1,5 kg?", "link": "/conversas?conversa=12"}]
    data = export_csv(rows)
    assert data.startswith("\ufeff".encode()) and b"\r\n" in data
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";")
    header, linha = list(reader)
    assert header == ["Conversa", "Cliente", "Dia", "Avaliação", "Sugestão", "Problemas", "Tópico",
                      "Pergunta do cliente", "Link"]
    assert linha == ["12", "Padaria; Pão", "04/10/2026", "ruim", "0,50", "Loop, repetição", "Preços",
                     "quanto custa 1,5 kg?", "https://curadoria.exemplo.com.br/conversas?conversa=12"]
    reset_settings()


def test_the_whole_analysis_is_one_call_with_chart_series(engine, session, loja):
    add_conversa(session, loja, FALLBACK, "ruim", minutos=1)
    add_conversa(session, loja, BOA, "boa", minutos=2)
    session.commit()
    analyze_pending(engine)
    analise = get_analysis(session)
    assert analise.pendentes == 0
    assert [p.codigo for p in analise.problemas] == ["fallback"]
    assert analise.series.conversas_por_dia == [{"dia": INICIO.date(), "cliente": "Loja Teste",
                                                 "conversas": 2}]
    assert {r["avaliacao"] for r in analise.series.avaliacoes_por_dia} == {"Boa", "Ruim"}
    assert analise.series.problemas_por_dia[0]["problema"] == PROBLEMAS["fallback"]


def test_analyze_command_reports_what_it_did(engine, session, loja, capsys):
    add_conversa(session, loja, BOA)
    session.commit()
    assert cli(["analyze", "--limite", "10"]) == 0
    assert "1 conversas analisadas" in capsys.readouterr().out
    assert cli(["analyze", "--refazer"]) == 0
    out = capsys.readouterr().out
    assert "1 conversas colocadas na fila" in out and "0 ainda na fila" in out
    assert cli(["analyze", "--limite", "0"]) == 1
    assert session.scalar(select(func.count()).select_from(ConversaAnalise)) == 1


def test_bulk_loaded_conversas_are_queued_once_each(engine, session):
    from core.demo.generate import default_anchor, generate_conversations, load_database

    load_database(engine, generate_conversations(60, seed=9), default_anchor())
    assert count_pending(session) == 60


def test_migration_queues_the_conversas_that_existed_before_it(tmp_path):
    from sqlalchemy import text

    from core.db import get_engine, upgrade_database

    url = f"sqlite:///{tmp_path / 'antigo.db'}"
    engine = get_engine(url)
    upgrade_database(url, "0002")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO clientes (id, nome, slug) VALUES (1, 'Loja', 'loja')"))
        conn.execute(text("INSERT INTO conversas (id, cliente_id, whatsapp, iniciada_em, "
                          "ultima_mensagem_em, dia) VALUES (7, 1, '55', '2026-11-01 10:00:00', "
                          "'2026-11-01 10:00:00', '2026-11-01')"))
    upgrade_database(url)
    with engine.connect() as conn:
        assert conn.scalars(text("SELECT conversa_id FROM analise_fila")).all() == [7]


def test_topic_counts_follow_ratings_changed_after_the_analysis(engine, session, loja):
    conversa = add_conversa(session, loja, BOA, None)
    session.commit()
    analyze_pending(engine)
    assert count_topics(session).topicos == []
    session.execute(update(Conversa).where(Conversa.id == conversa.id).values(avaliacao="boa"))
    assert [t.vezes for t in count_topics(session).topicos] == [1]
    session.execute(update(Conversa).where(Conversa.id == conversa.id).values(avaliacao=None))
    assert count_topics(session).topicos == []
