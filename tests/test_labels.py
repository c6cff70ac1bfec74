"""Admin labels of problems (issue 20): stored with who and when, and the detector's
precision / recall against them, exact on a hand-computed fixture (acceptance 3)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.tables_analise import ConversaRotulo
from core.errors import InvalidInput, NotFound
from core.review.analysis import analyze_pending, get_suggestions
from core.review.labels import get_labels, measured_quality, remove_label, set_label
from tests.conversas_factory import add_cliente, add_conversa

FALLBACK = ["tem dipirona?", "Desculpe, não encontrei essa informação.", "ok"]
VAGA = ["quanto custa o frete pra Osasco?", "Temos diversas opções para você! Fique à vontade.",
        "ok"]
BOA = ["qual o horário de sábado?", "Sábado abrimos das 8h às 14h.", "obrigado"]
SEM_RESPOSTA = ["vcs entregam no centro?"]


def test_a_label_is_stored_with_who_and_when_and_replaced(session):
    cliente = add_cliente(session)
    conversa = add_conversa(session, cliente, FALLBACK)
    primeiro = set_label(session, conversa.id, ["vaga", "fallback", "fallback"], "ana")
    assert primeiro.problemas == ["fallback", "vaga"]  # detector order, no duplicates
    segundo = set_label(session, conversa.id, [], "carlos")
    rotulo = get_labels(session, [conversa.id])[conversa.id]
    assert rotulo.problemas == [] and rotulo.rotulado_por == "carlos"
    assert rotulo.rotulado_em >= primeiro.rotulado_em and segundo.rotulado_por == "carlos"
    assert session.scalars(select(ConversaRotulo)).one().cliente_id == cliente.id
    remove_label(session, conversa.id)
    assert get_labels(session, [conversa.id]) == {}


def test_unknown_codes_and_conversas_are_refused(session):
    conversa = add_conversa(session, add_cliente(session), BOA)
    with pytest.raises(InvalidInput):
        set_label(session, conversa.id, ["chato"], "ana")
    with pytest.raises(NotFound):
        set_label(session, 999_999, ["vaga"], "ana")


def test_precision_and_recall_against_labels_are_exact(engine, session):
    """Hand-computed: the detector finds {fallback} in c1, {vaga} in c2, {} in c3,
    {sem_resposta} in c4 (checked below); the admin labels
        c1 {fallback}           -> fallback TP
        c2 {fallback}           -> vaga FP, fallback FN
        c3 {irritado}           -> irritado FN
        c4 {sem_resposta}       -> sem_resposta TP
        c5 (not labelled)       -> not counted
    fallback: P 1/1, R 1/2; vaga: P 0/1, R none; irritado: P none, R 0/1;
    sem_resposta: P 1/1, R 1/1; humano, repetiu: no figure. 4 labelled conversas."""
    cliente = add_cliente(session)
    c1 = add_conversa(session, cliente, FALLBACK)
    c2 = add_conversa(session, cliente, VAGA)
    c3 = add_conversa(session, cliente, BOA)
    c4 = add_conversa(session, cliente, SEM_RESPOSTA)
    add_conversa(session, cliente, FALLBACK)
    session.commit()
    analyze_pending(engine)
    detectado = {cid: s.problemas for cid, s in get_suggestions(
        session, [c1.id, c2.id, c3.id, c4.id]).items()}
    assert detectado == {c1.id: ["fallback"], c2.id: ["vaga"], c3.id: [], c4.id: ["sem_resposta"]}
    set_label(session, c1.id, ["fallback"], "ana")
    set_label(session, c2.id, ["fallback"], "ana")
    set_label(session, c3.id, ["irritado"], "ana")
    set_label(session, c4.id, ["sem_resposta"], "ana")
    q = measured_quality(session).categorias
    assert (q["fallback"].precisao, q["fallback"].recall) == (1.0, 0.5)
    assert (q["fallback"].detectados, q["fallback"].positivos) == (1, 2)
    assert (q["vaga"].precisao, q["vaga"].recall) == (0.0, None)
    assert (q["irritado"].precisao, q["irritado"].recall) == (None, 0.0)
    assert (q["sem_resposta"].precisao, q["sem_resposta"].recall) == (1.0, 1.0)
    assert (q["humano"].precisao, q["humano"].recall) == (None, None)
    assert all(x.conversas == 4 for x in q.values())
    assert measured_quality(session, cliente_id=cliente.id + 1).categorias["fallback"].conversas == 0
