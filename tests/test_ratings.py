"""core.review.ratings and core.review.queue: bulk ratings, reasons, accepting the
suggestion, who rated what, and the review queue (both databases)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from core.clock import local_day, utcnow
from core.db import session_scope
from core.db.tables import AvaliacaoHistorico, Conversa
from core.errors import InvalidInput
from core.review.analysis import analyze_pending
from core.review.conversations import rate_conversation
from core.review.queue import Cursor, load_items, queue_ids
from core.review.ratings import (
    TAG_SUGESTAO_ACEITA,
    accept_suggestions,
    make_reason,
    rate_many,
    rating_history,
    ratings_by_admin,
)
from tests.conversas_factory import add_cliente, add_conversa, seed_engine

FALLBACK = ["Vcs entregam em Campinas?", "Desculpe, não encontrei essa informação.",
            "Vcs entregam em Campinas???", "Desculpe, não encontrei essa informação."]


@pytest.fixture
def cinco(engine):
    """Five conversas, newest last; the oldest already rated."""
    ids = []

    def build(session):
        loja = add_cliente(session)
        base = dt.datetime(2026, 11, 10, 15)
        for h in range(5):
            ids.append(add_conversa(session, loja, inicio=base + dt.timedelta(hours=h),
                                    avaliacao="boa" if h == 0 else None).id)
    seed_engine(engine, build)
    return ids


def test_a_reason_is_saved_on_the_audit_row_of_that_rating(engine, cinco):
    with session_scope(engine) as session:
        rate_conversation(session, cinco[1], "ruim", "ana",
                          make_reason("  não informou   o prazo ", ["resposta errada", "x;y"]))
        rate_conversation(session, cinco[1], "boa", "bia")
    with session_scope(engine) as session:
        [depois, antes] = rating_history(session, cinco[1])
    assert (antes.avaliado_por, antes.anterior, antes.nova) == ("ana", None, "ruim")
    assert antes.motivo == "não informou o prazo" and antes.tags == ("resposta errada", "x,y")
    assert (depois.avaliado_por, depois.nova, depois.motivo, depois.tags) == ("bia", "boa", None, ())


def test_bad_reasons_are_refused_in_portuguese():
    with pytest.raises(InvalidInput, match="no máximo 300"):
        make_reason("x" * 301)
    with pytest.raises(InvalidInput, match="no máximo 8"):
        make_reason(None, [f"t{i}" for i in range(9)])
    assert make_reason("", ["", "a", "a"]).tags == ("a",)


def test_rating_several_at_once_leaves_one_audit_row_each_with_the_reason(engine, cinco):
    with session_scope(engine) as session:
        assert rate_many(session, cinco[1:4], "ruim", "ana", make_reason("lote")) == 3
    with session_scope(engine) as session:
        rows = session.execute(select(Conversa.id, Conversa.avaliacao, Conversa.avaliado_por)
                               .where(Conversa.id.in_(cinco)).order_by(Conversa.id)).all()
        trail = session.execute(select(AvaliacaoHistorico.conversa_id, AvaliacaoHistorico.motivo)
                                .order_by(AvaliacaoHistorico.conversa_id)).all()
    assert [tuple(r) for r in rows] == [(cinco[0], "boa", "admin"), (cinco[1], "ruim", "ana"),
                                        (cinco[2], "ruim", "ana"), (cinco[3], "ruim", "ana"),
                                        (cinco[4], None, "admin")]
    assert [tuple(t) for t in trail] == [(cid, "lote") for cid in cinco[1:4]]
    with pytest.raises(InvalidInput), session_scope(engine) as session:
        rate_many(session, [], "boa", "ana")


def test_a_reason_never_lands_on_another_writer_s_row(engine, cinco):
    """An analyst's SQL rating of the same conversa keeps its own (empty) reason."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE conversas SET avaliacao = 'ruim', avaliado_por = 'sql', "
                          "avaliado_em = :em WHERE id = :id"), {"em": utcnow(), "id": cinco[2]})
    with session_scope(engine) as session:
        rate_conversation(session, cinco[2], "boa", "ana", make_reason("certo"))
        motivos = [h.motivo for h in rating_history(session, cinco[2])]
    assert motivos == ["certo", None]


def test_accepting_the_suggestion_rates_as_the_analysis_suggested_and_tags_it(engine):
    ids = {}

    def build(session):
        loja = add_cliente(session)
        ids["fallback"] = add_conversa(session, loja, FALLBACK).id
        ids["nova"] = add_conversa(session, loja).id
    seed_engine(engine, build)
    analyze_pending(engine)
    with session_scope(engine) as session:
        session.execute(text("DELETE FROM conversas_analise WHERE conversa_id = :id"),
                        {"id": ids["nova"]})  # not analysed: no suggestion
    with session_scope(engine) as session:
        aceitas = accept_suggestions(session, list(ids.values()), "ana")
    assert aceitas == {ids["fallback"]: "ruim"}
    with session_scope(engine) as session:
        assert session.get(Conversa, ids["fallback"]).avaliacao == "ruim"
        assert session.get(Conversa, ids["nova"]).avaliacao is None
        [h] = rating_history(session, ids["fallback"])
    assert h.tags == (TAG_SUGESTAO_ACEITA,)


def test_ratings_per_admin_and_day_with_agreement(engine):
    ids = {}

    def build(session):
        loja = add_cliente(session)
        ids["a"] = add_conversa(session, loja, FALLBACK).id  # suggested: ruim
        ids["b"] = add_conversa(session, loja, FALLBACK).id
        ids["c"] = add_conversa(session, loja).id
    seed_engine(engine, build)
    analyze_pending(engine)
    with session_scope(engine) as session:
        rate_conversation(session, ids["a"], "ruim", "ana")  # agrees
        rate_conversation(session, ids["b"], "boa", "ana")  # disagrees
        rate_conversation(session, ids["c"], "boa", "bia")
        rate_conversation(session, ids["c"], None, "bia")  # a removal is not a rating
    hoje = local_day(utcnow())
    with session_scope(engine) as session:
        linhas = ratings_by_admin(session, hoje - dt.timedelta(days=6), hoje)
        so_ana = ratings_by_admin(session, hoje, hoje, usuario="ana")
    por = {l.usuario: l for l in linhas}
    assert set(por) == {"ana", "bia"} and all(l.dia == hoje for l in linhas)
    ana = por["ana"]
    assert (ana.avaliacoes, ana.boas, ana.ruins, ana.com_sugestao, ana.concordam) == (2, 1, 1, 2, 1)
    assert ana.concordancia == 0.5
    assert por["bia"].avaliacoes == 1
    assert [l.usuario for l in so_ana] == ["ana"]
    with session_scope(engine) as session:
        cliente_id = session.get(Conversa, ids["a"]).cliente_id
        assert len(ratings_by_admin(session, hoje, hoje, cliente_id=cliente_id)) == 2
        assert ratings_by_admin(session, hoje, hoje, cliente_id=cliente_id + 1) == []
    with session_scope(engine) as session:
        assert ratings_by_admin(session, hoje - dt.timedelta(days=9), hoje - dt.timedelta(days=8)) == []


def test_the_queue_gives_unrated_first_newest_first_then_the_rated(engine, cinco):
    with session_scope(engine) as session:
        primeiros, cursor = queue_ids(session, None, 3)
        resto, cursor2 = queue_ids(session, cursor, 3)
    assert primeiros == [cinco[4], cinco[3], cinco[2]]
    assert resto == [cinco[1], cinco[0]]  # the last unrated, then the rated one
    assert cursor2 is None  # the queue is exhausted


def test_the_queue_follows_the_filters_and_skips_excluded_ids(engine, cinco):
    with session_scope(engine) as session:
        assert queue_ids(session, None, 10, avaliacao="sem")[0] == cinco[4:0:-1]
        assert queue_ids(session, None, 10, avaliacao="boa")[0] == [cinco[0]]
        assert queue_ids(session, None, 10, excluir={cinco[3]}, avaliacao="sem")[0] == \
            [cinco[4], cinco[2], cinco[1]]
        # Rated meanwhile: the cursor goes on after what it read, the rated one drops out.
        ids, cursor = queue_ids(session, None, 1, avaliacao="sem")
        rate_conversation(session, cinco[3], "ruim", "ana")
        assert queue_ids(session, cursor, 10, avaliacao="sem")[0] == [cinco[2], cinco[1]]
        assert queue_ids(session, Cursor(), 10, status="ativa")[0] == []


def test_queue_items_carry_messages_suggestion_and_history(engine, cinco):
    with session_scope(engine) as session:
        rate_conversation(session, cinco[2], "boa", "ana", make_reason("ok"))
        items = load_items(session, [cinco[2], 999_999])
    assert list(items) == [cinco[2]]
    item = items[cinco[2]]
    assert [m.conteudo for m in item.detalhe.mensagens] == ["Oi, tudo bem?", "Olá! Como posso ajudar?"]
    assert item.sugestao is None and [h.motivo for h in item.historico] == ["ok"]
