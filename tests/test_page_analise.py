"""The Análise de Treinamento page, run through the real dashboard with AppTest."""
from __future__ import annotations

from core.demo.generate import default_anchor, generate_conversations, load_database
from core.review.analysis import analyze_pending
from tests.pages_helpers import logged_in_dashboard, shown

PAGE = "pages/screens/analise.py"


def _texts(at) -> str:
    parts = [e.value for e in at.title] + [e.value for e in at.subheader] + \
        [e.value for e in at.markdown] + [e.value for e in at.caption] + \
        [e.value for e in at.info] + [e.value for e in at.warning] + [e.value for e in at.success]
    return shown(" ".join(str(p) for p in parts))


def _demo(engine, n=300):
    load_database(engine, generate_conversations(n, seed=5), default_anchor())
    analyze_pending(engine)


def test_page_shows_summary_problems_topics_readiness_and_charts_with_real_data(engine):
    _demo(engine)
    at = logged_in_dashboard(engine, page=PAGE)
    assert not at.exception
    texts = _texts(at)
    assert "Análise de Treinamento" in texts and "Resumo geral" in texts
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Total de conversas"] == "300"
    assert "Mínimo recomendado: 50 conversas" in texts  # demo clientes have < 50 rated
    assert "Bot não encontrou a informação" in texts
    assert "/conversas?conversa=" in texts  # examples are one click away
    assert "Faltam" in texts and len(at.get("progress")) == 4
    assert len(at.get("plotly_chart")) == 5
    topicos = at.dataframe[1].value
    assert "Horário de funcionamento" in set(topicos["Tópico"])
    assert len(at.get("download_button")) == 1


def test_filtering_by_cliente_and_problem_narrows_the_table(engine):
    _demo(engine)
    at = logged_in_dashboard(engine, page=PAGE)
    at.selectbox[0].select("Moda Bella").run()
    assert not at.exception
    assert {m.label for m in at.metric} >= {"Total de conversas"}
    at.selectbox[2].select("Cliente repetiu a pergunta").run()
    tabela = at.dataframe[-1].value
    assert len(tabela) > 0
    assert set(tabela["cliente"]) == {"Moda Bella"}
    assert all("Cliente repetiu a pergunta" in p for p in tabela["problemas"])


def test_page_without_clientes_explains_how_to_get_data(engine):
    at = logged_in_dashboard(engine, page=PAGE)
    assert not at.exception
    assert "python -m core demo" in _texts(at)
