"""Visão geral as the start of the day: per cliente the conversas waiting for review, the
ratings of the last 7 days (from the audit trail, any writer), readiness for fine-tuning,
the poller's health and the model warnings. Core query on both databases, page by AppTest."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text, update

from core import config as config_module
from core.clock import utcnow
from core.db import session_scope
from core.db.tables import AvaliacaoHistorico, Conversa
from core.poller.cycle import record_heartbeat
from core.review.start_of_day import start_of_day
from tests.conversas_factory import add_cliente, add_conversa, seed_engine
from tests.pages_helpers import logged_in_dashboard, shown


@pytest.fixture
def low_thresholds(monkeypatch):
    monkeypatch.setenv("CURADORIA_MIN_CONVERSAS_MARCADAS", "3")
    monkeypatch.setenv("CURADORIA_MIN_CONVERSAS_BOAS", "2")
    monkeypatch.setenv("CURADORIA_MIN_CONVERSAS_RUINS", "1")
    config_module.reset_settings()
    yield
    config_module.reset_settings()


def seed_day(engine) -> dict[str, list[int]]:
    """padaria: 5 conversas, 3 rated (one of them 8 days ago); loja: 2 unrated."""
    ids: dict[str, list[int]] = {}

    def build(session):
        padaria = add_cliente(session, "padaria", "Padaria <b>Central</b>")
        loja = add_cliente(session, "loja", "Loja Exemplo")
        base = dt.datetime(2026, 11, 10, 9)
        ids["padaria"] = [add_conversa(session, padaria, inicio=base + dt.timedelta(hours=h)).id
                          for h in range(5)]
        ids["loja"] = [add_conversa(session, loja, inicio=base + dt.timedelta(hours=h)).id
                       for h in range(2)]
    seed_engine(engine, build)
    # Rated directly in SQL, as another tool would: the audit trigger records each one.
    with engine.begin() as conn:
        for conversa_id, avaliacao in zip(ids["padaria"][:3], ("boa", "boa", "ruim")):
            conn.execute(text("UPDATE conversas SET avaliacao = :a, avaliado_por = 'sql' "
                              "WHERE id = :i"), {"a": avaliacao, "i": conversa_id})
    with session_scope(engine) as session:
        session.execute(update(AvaliacaoHistorico)
                        .where(AvaliacaoHistorico.conversa_id == ids["padaria"][0])
                        .values(registrado_em=utcnow() - dt.timedelta(days=8)))
    return ids


def test_start_of_day_counts_the_queue_recent_ratings_and_readiness(engine, low_thresholds):
    seed_day(engine)
    with session_scope(engine) as session:
        dia = start_of_day(session)
    por_slug = {c.slug: c for c in dia.clientes}
    assert (por_slug["padaria"].aguardando, por_slug["loja"].aguardando) == (2, 2)
    assert (por_slug["padaria"].avaliacoes_7_dias, por_slug["loja"].avaliacoes_7_dias) == (2, 0)
    assert por_slug["padaria"].prontidao.pronto and not por_slug["loja"].prontidao.pronto
    assert (dia.aguardando, dia.avaliacoes_7_dias, dia.prontos) == (4, 2, 1)
    assert len(dia.avaliacoes_por_dia) == 7 and dia.avaliacoes_por_dia[-1][1] == 2


def test_a_re_rating_counts_again_and_a_removed_rating_does_not(engine):
    ids = seed_day(engine)
    with session_scope(engine) as session:
        session.execute(update(Conversa).where(Conversa.id == ids["loja"][0])
                        .values(avaliacao="ruim"))
        session.execute(update(Conversa).where(Conversa.id == ids["loja"][0])
                        .values(avaliacao=None))
    with session_scope(engine) as session:
        loja = {c.slug: c for c in start_of_day(session).clientes}["loja"]
    assert (loja.avaliacoes_7_dias, loja.aguardando) == (1, 2)


def test_the_page_shows_the_day_per_cliente_with_a_link_to_its_queue(engine, low_thresholds):
    seed_day(engine)
    record_heartbeat(engine, "poller-teste", intervalo=1800)
    at = logged_in_dashboard(engine, page="pages/screens/visao_geral.py")
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Aguardando avaliação"] == "4"
    assert metrics["Avaliações nos últimos 7 dias"] == "2"
    assert metrics["Prontos para fine-tuning"] == "1 de 2"
    assert any("Poller funcionando" in shown(s.value) for s in at.success)
    tabela = at.dataframe[0].value
    linhas = {row["Cliente"]: row for row in tabela.to_dict("records")}
    padaria = linhas["Padaria <b>Central</b>"]  # a name is data, shown as written
    assert padaria["Aguardando avaliação"] == 2 and padaria["Avaliações (7 dias)"] == 2
    assert padaria["Fine-tuning"] == "Pronto"
    assert padaria["Revisar"] == "conversas?cliente=padaria&avaliacao=sem"
    assert linhas["Loja Exemplo"]["Fine-tuning"] == "Ainda não"
    # what is missing is written out under the table (it would widen the column)
    assert any("**Loja Exemplo**: Faltam 3 conversas avaliadas" in shown(c.value) for c in at.caption)


def test_the_page_says_when_the_poller_never_ran_or_stopped(engine):
    seed_day(engine)
    at = logged_in_dashboard(engine, page="pages/screens/visao_geral.py")
    assert any("O poller nunca rodou" in shown(w.value) for w in at.warning)
    record_heartbeat(engine, "poller-teste", intervalo=60)
    with engine.begin() as conn:
        conn.execute(text("UPDATE poller_heartbeats SET visto_em = :t"),
                     {"t": utcnow() - dt.timedelta(hours=2)})
    at.run()
    assert any("parece parado" in shown(w.value) for w in at.warning)


def test_without_clientes_the_page_points_to_the_clientes_screen(engine):
    at = logged_in_dashboard(engine, page="pages/screens/visao_geral.py")
    assert not at.exception
    assert any("Cadastre um em Clientes" in shown(i.value) for i in at.info)
