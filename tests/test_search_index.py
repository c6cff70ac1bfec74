"""Search: word forms, several words in any order, snippets, and the queue of documents
(core/review/search_index.py), on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from core.review.conversations import list_conversations
from core.review.search_index import (
    HL_END,
    HL_START,
    query_stems,
    search_behind_since,
    terms_of,
    update_search,
)
from pages.ui.highlight import highlighted
from tests.conversas_factory import BASE, add_cliente, add_conversa


@pytest.fixture
def loja(session):
    return add_cliente(session)


def ids(session, busca: str, **filtros) -> list[int]:
    return [c.id for c in list_conversations(session, busca=busca, **filtros).conversas]


def test_word_forms_find_each_other_in_both_directions(session, loja):
    singular = add_conversa(session, loja, ["Cadê a minha entrega?", "Já saiu"])
    plural = add_conversa(session, loja, ["As entregas atrasaram", "Vamos verificar"])
    add_conversa(session, loja, ["Qual o horário?", "Das 8h às 18h"])
    both = sorted([singular.id, plural.id], reverse=True)
    for busca in ("entrega", "entregas", "ENTREGAS", "entregue", "Entregá"):
        assert sorted(ids(session, busca), reverse=True) == both, busca
    assert ids(session, "atrasou") == [plural.id]


def test_several_words_must_all_occur_in_any_order_and_any_message(session, loja):
    alvo = add_conversa(session, loja, ["Minha entrega está atrasada", "Vou verificar"])
    separadas = add_conversa(session, loja, ["Cadê as entregas?", "O pedido atrasou, desculpe"])
    add_conversa(session, loja, ["Quero saber da entrega", "Chega amanhã"])
    add_conversa(session, loja, ["O pagamento atrasou", "Sem problemas"])
    esperado = sorted([alvo.id, separadas.id])
    for busca in ("entrega atrasada", "atrasada entrega", "Entregas atrasadas", "a entrega de atraso"):
        assert sorted(ids(session, busca)) == esperado, busca


def test_stop_words_alone_fall_back_to_the_literal_text(session, loja):
    alvo = add_conversa(session, loja, ["de novo por aqui"])
    add_conversa(session, loja, ["outra coisa"])
    assert query_stems("de por") == []
    assert ids(session, "de novo") == [alvo.id]
    assert ids(session, "de por") == []  # "de por" is not in any message as written
    assert ids(session, "novo por") == [alvo.id]


def test_each_result_has_a_snippet_with_the_matched_words_highlighted(session, loja):
    add_conversa(session, loja, ["Oi", "Olá! Como posso ajudar?", "As ENTREGAS de hoje atrasaram",
                                 "Vamos verificar a entrega"])
    [card] = list_conversations(session, busca="entrega atrasada").conversas
    assert f"{HL_START}ENTREGAS{HL_END}" in card.trecho  # the original word, as written
    assert f"{HL_START}atrasaram{HL_END}" in card.trecho
    assert f"{HL_START}entrega{HL_END}" in card.trecho
    assert f"{HL_START}hoje" not in card.trecho
    shown = highlighted(card.trecho)
    assert "**ENTREGAS**" in shown and "**atrasaram**" in shown
    assert list_conversations(session).conversas[0].trecho is None  # no search, no snippet


HOSTILE = "<b>**negrito**</b> [link](javascript:alert(1)) $x$ :material/home: \ue000falso\ue001"


def test_message_text_in_a_snippet_is_never_markup(session, loja):
    add_conversa(session, loja, [f"{HOSTILE} entrega atrasada"])
    [card] = list_conversations(session, busca="entrega").conversas
    assert card.trecho.count(HL_START) == 1 and card.trecho.count(HL_END) == 1
    assert f"{HL_START}entrega{HL_END}" in card.trecho
    shown = highlighted(card.trecho)
    assert "**entrega**" in shown
    assert shown.count("**") == 2  # the only markup: the highlight
    for raw in ("<b>", "[link](", "](javascript", "$x$", "**negrito**"):
        assert raw not in shown, raw
    assert "\\[link\\]\\(javascript" in shown and "negrito\\*\\*" in shown
    assert "\ue000" not in shown and "\ue001" not in shown


def test_fts_terms_are_one_stem_per_word_in_order():
    assert terms_of("As ENTREGAS, já atrasadas!") == "as entreg ja atras"
    assert terms_of("e-mail 10% 😀 ação") == "e mail 10 aca"


def test_messages_written_by_anyone_reach_search_once_it_is_brought_up_to_date(session, loja,
                                                                               engine, backend):
    conversa = add_conversa(session, loja, ["bom dia"])
    session.commit()
    assert search_behind_since(session) is None
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO mensagens (conversa_id, cliente_id, role, conteudo, enviada_em,"
                          " redis_key) VALUES (:c, :l, 'assistant', 'Seu reembolso foi aprovado',"
                          " :t, 'k-extra')"), {"c": conversa.id, "l": loja.id, "t": BASE})
    if backend == "sqlite":  # queued: stems are computed in Python
        assert search_behind_since(session) is not None
        assert ids(session, "reembolso") == []
        assert ids(session, "bom dia") == [conversa.id]  # its previous whole text
        assert update_search(engine) == 1
    assert search_behind_since(session) is None
    assert ids(session, "reembolsos aprovados") == [conversa.id]
    assert update_search(engine) == 0


def test_a_conversa_queued_by_hand_is_rebuilt_from_all_its_messages(session, loja, engine):
    conversa = add_conversa(session, loja, ["quero trocar", "claro"])
    session.commit()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM conversas_busca"))
        conn.execute(text("INSERT INTO busca_pendentes (conversa_id, marcada_em) VALUES (:c, :t)"),
                     {"c": conversa.id, "t": BASE})
    assert ids(session, "troca") == []
    assert search_behind_since(session) == BASE
    assert update_search(engine) == 1
    assert ids(session, "troca") == [conversa.id] and search_behind_since(session) is None
