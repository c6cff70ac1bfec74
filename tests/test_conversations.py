"""Listing, filtering, searching and rating conversas (core/conversations.py)."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from sqlalchemy import select, text

from core.db.tables import AvaliacaoHistorico, Conversa
from core.errors import InvalidInput, NotFound
from core.review.conversations import (
    count_ratings,
    get_conversation,
    list_conversations,
    rate_conversation,
)
from core.review.search_index import update_search
from tests.conversas_factory import BASE, add_cliente, add_conversa

SPECIAL_SEARCHES = ['"', "'", '"entrega"', "&", "|", "!", ":*", "entrega:*", "(", ")",
                    "(entrega", "%", "_", "\\", "\\\\", "😀", "🚚 entrega", "a & b | !c",
                    "''; DROP TABLE conversas; --", "<->", "*", "NEAR(", "AND", "OR", "-"]


@pytest.fixture
def loja(session):
    return add_cliente(session)


def test_list_is_newest_first_with_exact_total_and_pages(session, loja):
    ids = [add_conversa(session, loja, inicio=BASE + dt.timedelta(hours=h)).id for h in range(45)]
    first = list_conversations(session, page=1)
    assert (first.total, first.pages, first.page, first.total_exato) == (45, 3, 1, True)
    assert [c.id for c in first.conversas] == list(reversed(ids))[:20]
    last = list_conversations(session, page=3)
    assert [c.id for c in last.conversas] == list(reversed(ids))[40:]


def test_every_page_together_holds_each_conversa_once(session, loja):
    ids = {add_conversa(session, loja, inicio=BASE + dt.timedelta(minutes=m)).id for m in range(53)}
    seen = [c.id for p in range(1, 4) for c in list_conversations(session, page=p, por_pagina=20).conversas]
    assert len(seen) == 53 and set(seen) == ids


def test_page_past_the_end_shows_the_last_page(session, loja):
    for _ in range(3):
        add_conversa(session, loja)
    result = list_conversations(session, page=99)
    assert result.page == 1 and len(result.conversas) == 3


def test_filters_by_cliente_status_rating_and_period(session, loja):
    outra = add_cliente(session, "outra", "Outra Loja")
    a = add_conversa(session, loja, status="ativa", avaliacao="boa", inicio=dt.datetime(2026, 11, 1, 15))
    b = add_conversa(session, loja, status="finalizada", avaliacao="ruim", inicio=dt.datetime(2026, 11, 5, 15))
    c = add_conversa(session, outra, status="aguardando", inicio=dt.datetime(2026, 11, 9, 15))

    def ids(**filtros):
        return [x.id for x in list_conversations(session, **filtros).conversas]

    assert ids(cliente_id=outra.id) == [c.id]
    assert ids(status="ativa") == [a.id]
    assert ids(avaliacao="ruim") == [b.id]
    assert ids(avaliacao="sem") == [c.id]
    assert ids(desde=dt.date(2026, 11, 2), ate=dt.date(2026, 11, 8)) == [b.id]
    assert list_conversations(session, cliente_id=loja.id, avaliacao="boa").total == 1


def test_period_uses_the_local_day(session, loja):
    # 01:30 UTC on the 6th is still the 5th in São Paulo.
    conversa = add_conversa(session, loja, inicio=dt.datetime(2026, 11, 6, 1, 30))
    assert [c.id for c in list_conversations(session, desde=dt.date(2026, 11, 5),
                                             ate=dt.date(2026, 11, 5)).conversas] == [conversa.id]
    assert list_conversations(session, desde=dt.date(2026, 11, 6)).total == 0


def test_card_has_cliente_formatted_number_model_and_first_messages(session, loja):
    add_conversa(session, loja, ["msg 1", "msg 2", "msg 3", "msg 4"], whatsapp="5511987654321",
                 modelo="ft:gpt-4.1-mini:loja")
    card = list_conversations(session).conversas[0]
    assert card.cliente_nome == "Loja Exemplo"
    assert card.whatsapp == "+55 11 98765-4321"
    assert card.modelo_usado == "ft:gpt-4.1-mini:loja"
    assert [m.conteudo for m in card.primeiras_mensagens] == ["msg 1", "msg 2", "msg 3"]


def test_unknown_filter_values_raise_a_portuguese_error(session):
    with pytest.raises(InvalidInput, match="Status inválido"):
        list_conversations(session, status="fechada")
    with pytest.raises(InvalidInput, match="Avaliação inválida"):
        count_ratings(session, avaliacao="otima")


def test_search_ignores_accents_case_and_finds_across_messages(session, loja):
    alvo = add_conversa(session, loja, ["Quero saber da ENTREGA do pedido", "Já está a caminho"])
    add_conversa(session, loja, ["Qual o horário de funcionamento?", "Das 8h às 18h"])
    for busca in ("entrega", "Entregá", "ja caminho", "pedido entrega", "JÁ"):
        assert [c.id for c in list_conversations(session, busca=busca).conversas] == [alvo.id], busca
    assert list_conversations(session, busca="cancelamento").total == 0


def test_search_understands_word_forms(session, loja):
    alvo = add_conversa(session, loja, ["As entregas atrasaram", "Vamos verificar"])
    assert list_conversations(session, busca="entrega").total == 1
    assert list_conversations(session, busca="entrega").conversas[0].id == alvo.id


def test_search_combines_with_filters_and_counts(session, loja):
    add_conversa(session, loja, ["troca de produto"], avaliacao="boa")
    add_conversa(session, loja, ["troca de tamanho"], avaliacao="ruim")
    add_conversa(session, loja, ["outra coisa"], avaliacao="boa")
    assert list_conversations(session, busca="troca", avaliacao="boa").total == 1
    assert count_ratings(session, busca="troca") == {"boa": 1, "ruim": 1, "sem": 0}


def test_search_pages_are_newest_first_each_match_once_and_clamped(session, loja):
    # Same start time for pairs: ties are ordered by id, newest first, as the list is.
    ids = [add_conversa(session, loja, ["troca de tamanho"], inicio=BASE + dt.timedelta(hours=h // 2)).id
           for h in range(25)]
    add_conversa(session, loja, ["outra coisa"])
    expected = sorted(ids, key=lambda i: (BASE + dt.timedelta(hours=ids.index(i) // 2), i), reverse=True)
    pages = [list_conversations(session, busca="troca", page=p, por_pagina=10) for p in (1, 2, 3)]
    assert [(r.total, r.pages, r.total_exato) for r in pages] == [(25, 3, True)] * 3
    assert [c.id for r in pages for c in r.conversas] == expected
    past = list_conversations(session, busca="troca", page=99, por_pagina=10)
    assert past.page == 3 and [c.id for c in past.conversas] == expected[20:]


def test_search_past_the_cap_says_more_and_still_pages_newest_first(session, loja, monkeypatch):
    import core.review.conversations as conversations

    monkeypatch.setattr(conversations, "SEARCH_CAP", 4)
    ids = [add_conversa(session, loja, ["nota fiscal"], inicio=BASE + dt.timedelta(hours=h)).id
           for h in range(9)]
    first = list_conversations(session, busca="nota fiscal", por_pagina=2)
    assert (first.total, first.total_exato) == (4, False)
    assert [c.id for c in first.conversas] == ids[::-1][:2]
    assert [c.id for c in list_conversations(session, busca="nota fiscal", page=2, por_pagina=2).conversas] \
        == ids[::-1][2:4]
    assert list_conversations(session, busca="nota fiscal", avaliacao="boa").total == 0


def test_search_finds_messages_added_after_the_conversa(session, loja, engine, backend):
    conversa = add_conversa(session, loja, ["bom dia"])
    session.commit()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO mensagens (conversa_id, cliente_id, role, conteudo, enviada_em,"
                          " redis_key) VALUES (:c, :l, 'assistant', 'Seu reembolso foi aprovado',"
                          " :t, 'k-extra')"), {"c": conversa.id, "l": loja.id, "t": BASE})
    # SQLite: writers only queue the conversa; the import / poller cycle updates search.
    assert list_conversations(session, busca="reembolso").total == (backend == "postgresql")
    assert update_search(engine) == (backend == "sqlite")
    assert list_conversations(session, busca="reembolso").total == 1
    with engine.begin() as conn:
        conn.execute(text("UPDATE mensagens SET conteudo = 'Seu estorno foi aprovado'"
                          " WHERE redis_key = 'k-extra'"))
    update_search(engine)
    assert list_conversations(session, busca="reembolso").total == 0
    assert list_conversations(session, busca="estorno").total == 1
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM mensagens WHERE redis_key = 'k-extra'"))
    update_search(engine)
    assert list_conversations(session, busca="estorno").total == 0
    assert list_conversations(session, busca="bom dia").total == 1


@pytest.mark.parametrize("busca", SPECIAL_SEARCHES)
def test_special_characters_are_searched_literally_without_error(session, loja, busca):
    add_conversa(session, loja, ["entrega normal"])
    alvo = add_conversa(session, loja, [f"texto com {busca} no meio"])
    result = list_conversations(session, busca=busca)
    assert alvo.id in [c.id for c in result.conversas]
    count_ratings(session, busca=busca)


def test_percent_and_underscore_are_not_wildcards(session, loja):
    add_conversa(session, loja, ["desconto de 10 reais"])
    alvo = add_conversa(session, loja, ["desconto de 10% hoje"])
    assert [c.id for c in list_conversations(session, busca="%").conversas] == [alvo.id]
    assert list_conversations(session, busca="_").total == 0


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(busca=st.text(max_size=30))
def test_any_search_text_returns_normally(session, busca):
    result = list_conversations(session, busca=busca)
    assert result.total >= 0 and result.page == 1


def test_rating_saves_who_and_when_and_updates_counters(session, loja):
    conversa = add_conversa(session, loja)
    add_conversa(session, loja)
    assert count_ratings(session) == {"boa": 0, "ruim": 0, "sem": 2}
    avaliacao = rate_conversation(session, conversa.id, "boa", "ana")
    assert avaliacao.avaliacao == "boa" and avaliacao.avaliado_por == "ana"
    row = session.execute(select(Conversa.avaliacao, Conversa.avaliado_por, Conversa.avaliado_em)
                          .where(Conversa.id == conversa.id)).one()
    assert row.avaliacao == "boa" and row.avaliado_por == "ana" and row.avaliado_em is not None
    assert count_ratings(session) == {"boa": 1, "ruim": 0, "sem": 1}
    assert count_ratings(session, avaliacao="boa") == {"boa": 1, "ruim": 0, "sem": 0}
    rate_conversation(session, conversa.id, None, "ana")
    assert count_ratings(session) == {"boa": 0, "ruim": 0, "sem": 2}
    assert get_conversation(session, conversa.id).conversa.avaliacao is None


def test_counters_stay_exact_when_another_tool_writes_the_rating(session, loja, engine):
    conversa = add_conversa(session, loja)
    session.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE conversas SET avaliacao = 'ruim' WHERE id = :id"), {"id": conversa.id})
    assert count_ratings(session) == {"boa": 0, "ruim": 1, "sem": 0}
    assert count_ratings(session, condicao=Conversa.id == conversa.id) == {"boa": 0, "ruim": 1, "sem": 0}


def test_two_admins_rating_the_same_conversa_last_write_wins_and_both_are_audited(session, loja):
    conversa = add_conversa(session, loja)
    rate_conversation(session, conversa.id, "boa", "ana")
    session.commit()
    rate_conversation(session, conversa.id, "ruim", "bruno")
    session.commit()
    detalhe = get_conversation(session, conversa.id).conversa
    assert (detalhe.avaliacao, detalhe.avaliado_por) == ("ruim", "bruno")
    trail = session.execute(select(AvaliacaoHistorico.avaliacao_nova, AvaliacaoHistorico.avaliado_por)
                            .where(AvaliacaoHistorico.conversa_id == conversa.id)
                            .order_by(AvaliacaoHistorico.id)).all()
    assert [tuple(r) for r in trail] == [("boa", "ana"), ("ruim", "bruno")]


def test_rating_an_unknown_conversa_or_with_an_unknown_value_is_refused(session, loja):
    conversa = add_conversa(session, loja)
    with pytest.raises(NotFound, match="Conversa 999999 não encontrada"):
        rate_conversation(session, 999999, "boa", "ana")
    with pytest.raises(InvalidInput, match="Avaliação inválida: 'otima'"):
        rate_conversation(session, conversa.id, "otima", "ana")
    with pytest.raises(NotFound):
        get_conversation(session, 999999)


def test_condicao_filters_with_an_exact_count(session, loja):
    longas = [add_conversa(session, loja, ["a", "b", "c", "d"]).id for _ in range(3)]
    add_conversa(session, loja, ["a"])
    result = list_conversations(session, condicao=Conversa.total_mensagens >= 4)
    assert result.total == 3 and result.total_exato and sorted(c.id for c in result.conversas) == longas


def test_get_conversation_returns_every_message_in_order(session, loja):
    conversa = add_conversa(session, loja, [f"mensagem {i}" for i in range(7)])
    detalhe = get_conversation(session, conversa.id)
    assert [m.conteudo for m in detalhe.mensagens] == [f"mensagem {i}" for i in range(7)]
    assert [m.role for m in detalhe.mensagens[:2]] == ["user", "assistant"]


def test_rollup_counters_equal_a_direct_count_for_every_filter(session, engine):
    from sqlalchemy import true

    from core.demo.generate import default_anchor, generate_conversations, load_database

    session.commit()
    load_database(engine, generate_conversations(150, seed=5), default_anchor())
    cliente_id = session.scalar(select(Conversa.cliente_id).limit(1))
    dia = session.scalar(select(Conversa.dia).order_by(Conversa.dia.desc()).limit(1))
    for filtros in ({}, {"cliente_id": cliente_id}, {"status": "finalizada"},
                    {"avaliacao": "sem"}, {"desde": dia - dt.timedelta(days=10), "ate": dia},
                    {"cliente_id": cliente_id, "avaliacao": "boa", "ate": dia - dt.timedelta(days=3)}):
        rollup = count_ratings(session, **filtros)
        assert rollup == count_ratings(session, condicao=true(), **filtros), filtros
        assert list_conversations(session, **filtros).total == sum(rollup.values())


def test_search_with_a_rating_filter_follows_ratings_written_anywhere(session, loja, engine):
    conversa = add_conversa(session, loja, ["problema com o boleto"])
    rate_conversation(session, conversa.id, "boa", "ana")
    assert list_conversations(session, busca="boleto", avaliacao="boa").total == 1
    session.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE conversas SET avaliacao = NULL, status = 'ativa' WHERE id = :id"),
                     {"id": conversa.id})
    assert list_conversations(session, busca="boleto", avaliacao="boa").total == 0
    assert list_conversations(session, busca="boleto", avaliacao="sem", status="ativa").total == 1
    assert count_ratings(session, busca="boleto") == {"boa": 0, "ruim": 0, "sem": 1}
