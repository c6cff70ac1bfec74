"""The "Todas as Conversas" page through Streamlit's AppTest."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from core.db import session_scope as session_scope_for
from core.db.tables import AvaliacaoHistorico, Conversa
from core.review.search_index import update_search
from tests.conversas_factory import add_cliente, add_conversa, seed_engine
from tests.pages_helpers import logged_in_dashboard

PAGE = "pages/screens/conversas.py"
HOSTILE = ["<script>alert('x')</script>", "**bold**", "[link](javascript:alert(1))"]


@pytest.fixture
def dados(engine):
    """25 conversas of 'Loja Exemplo' (2 about entrega) and one of 'Outra Loja'."""
    ids = {}

    def build(session):
        loja = add_cliente(session)
        outra = add_cliente(session, "outra", "Outra Loja")
        base = dt.datetime(2026, 11, 10, 15)
        ids["loja"] = [add_conversa(session, loja, inicio=base + dt.timedelta(hours=h)).id
                       for h in range(23)]
        ids["entrega"] = [add_conversa(session, loja, ["Cadê minha entrega?", "Está a caminho"],
                                       inicio=base + dt.timedelta(days=2, hours=h)).id
                          for h in range(2)]
        ids["outra"] = add_conversa(session, outra, ["Quero trocar", "Claro"], status="ativa",
                                    inicio=base + dt.timedelta(days=3)).id
        ids["outra_loja_id"] = outra.id
    seed_engine(engine, build)
    return ids


def page(engine):
    at = logged_in_dashboard(engine, page=PAGE)
    assert not at.exception, at.exception
    return at


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def texts(at) -> list[str]:
    return [t.value for t in at.text]


def card_ids(at) -> list[int]:
    return [int(b.key.split("-")[1]) for b in at.button if b.key and b.key.startswith("boa-")]


def test_page_lists_twenty_cards_with_the_total_and_counters(engine, dados):
    at = page(engine)
    assert at.title[0].value == "Todas as Conversas"
    assert len(card_ids(at)) == 20
    assert "Todas as conversas:** 0 boas, 0 ruins, 26 sem avaliação" in markdown(at)
    assert "26 conversas · página 1 de 2" in [c.value for c in at.caption]
    assert card_ids(at)[0] == dados["outra"]


def test_next_page_shows_the_rest_and_goes_into_the_url(engine, dados):
    at = page(engine)
    at.button(key="pagina-proxima").click().run()
    assert len(card_ids(at)) == 6
    assert at.query_params["pagina"] == "2"


def test_each_filter_narrows_the_list_and_is_kept_in_the_url(engine, dados):
    at = page(engine)
    at.selectbox(key="f_cliente").set_value("outra").run()
    assert card_ids(at) == [dados["outra"]]
    assert at.query_params["cliente"] == "outra"
    at.selectbox(key="f_cliente").set_value("").run()
    at.selectbox(key="f_status").set_value("ativa").run()
    assert card_ids(at) == [dados["outra"]]
    at.selectbox(key="f_status").set_value("").run()
    at.selectbox(key="f_avaliacao").set_value("boa").run()
    assert card_ids(at) == []
    assert any("Nenhuma conversa encontrada" in i.value for i in at.info)
    at.selectbox(key="f_avaliacao").set_value("").run()
    at.date_input(key="f_periodo").set_value((dt.date(2026, 11, 12), dt.date(2026, 11, 12))).run()
    assert sorted(card_ids(at)) == sorted(dados["entrega"])
    assert at.query_params["desde"] == "2026-11-12"


def test_search_finds_the_conversas_that_mention_the_word(engine, dados):
    at = page(engine)
    at.text_input(key="f_busca").input("ENTREGÁ").run()
    assert sorted(card_ids(at)) == sorted(dados["entrega"])
    assert at.query_params["q"] == "ENTREGÁ"
    assert "Neste filtro:** 0 boas, 0 ruins, 2 sem avaliação" in markdown(at)


def test_search_results_show_the_matching_words_in_bold_and_the_rest_as_written(engine, dados):
    def build(session):
        loja = add_cliente(session, "hostil", "Hostil")
        add_conversa(session, loja, ["as entregas atrasaram <b>**oi**</b> [x](javascript:alert(1))"])
    seed_engine(engine, build)
    at = page(engine)
    at.text_input(key="f_busca").input("entrega atrasada").run()
    snippets = [m for m in markdown(at).split("\n") if "**" in m and "Todas" not in m
                and "Neste filtro" not in m]
    [snippet] = snippets
    assert "**entregas** **atrasaram**" in snippet
    assert "\\<b\\>\\*\\*oi\\*\\*\\</b\\>" in snippet and "\\[x\\]\\(javascript" in snippet
    assert not any("Índice de busca" in c.value for c in at.caption)


def test_search_says_until_when_its_index_is_up_to_date(engine, dados):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM conversas_busca WHERE conversa_id = :c"), {"c": dados["outra"]})
        conn.execute(text("INSERT INTO busca_pendentes (conversa_id, marcada_em) VALUES (:c, :t)"),
                     {"c": dados["outra"], "t": dt.datetime(2026, 11, 13, 12)})
    at = page(engine)
    at.text_input(key="f_busca").input("trocar").run()
    assert any(c.value.startswith("Índice de busca atualizado até 13/11/2026") for c in at.caption)
    assert card_ids(at) == []
    update_search(engine)
    at.text_input(key="f_busca").input("troca").run()
    assert card_ids(at) == [dados["outra"]]
    assert not any("Índice de busca" in c.value for c in at.caption)


@pytest.mark.parametrize("busca", ['"', "&", "|", "!", ":*", "(", ")", "%", "_", "\\", "😀"])
def test_special_search_text_shows_a_normal_page(engine, dados, busca):
    at = page(engine)
    at.text_input(key="f_busca").input(busca).run()
    assert not at.exception and not at.error
    assert any("conversas · página" in c.value for c in at.caption)


def test_rating_and_unrating_a_card_updates_badge_counters_and_the_database(engine, dados):
    at = page(engine)
    alvo = card_ids(at)[0]
    at.button(key=f"boa-{alvo}").click().run()
    assert "Todas as conversas:** 1 boa, 0 ruins, 25 sem avaliação" in markdown(at)
    assert at.button(key=f"boa-{alvo}").proto.type == "primary"
    with engine.connect() as conn:
        row = conn.execute(select(Conversa.avaliacao, Conversa.avaliado_por)
                           .where(Conversa.id == alvo)).one()
    assert tuple(row) == ("boa", "ana")
    at.button(key=f"ruim-{alvo}").click().run()
    assert "Todas as conversas:** 0 boas, 1 ruim, 25 sem avaliação" in markdown(at)
    at.button(key=f"sem-{alvo}").click().run()
    assert "Todas as conversas:** 0 boas, 0 ruins, 26 sem avaliação" in markdown(at)
    with engine.connect() as conn:
        trail = conn.scalars(select(AvaliacaoHistorico.avaliacao_nova)
                             .where(AvaliacaoHistorico.conversa_id == alvo)
                             .order_by(AvaliacaoHistorico.id)).all()
    assert trail == ["boa", "ruim", None]


def test_url_filters_open_the_same_view(engine, dados):
    from tests.pages_helpers import login, make_admin, open_dashboard

    make_admin(engine)
    at = login(open_dashboard(), "ana")
    at.query_params["cliente"] = "outra"
    at.query_params["status"] = "ativa"
    at.switch_page(PAGE).run()
    assert card_ids(at) == [dados["outra"]]


def test_hostile_message_content_is_shown_as_literal_text(engine):
    def build(session):
        add_conversa(session, add_cliente(session), HOSTILE)
    seed_engine(engine, build)
    at = page(engine)
    shown = "\n".join(texts(at))
    for content in HOSTILE:
        assert content in shown
    assert not any(h in markdown(at) for h in ("<script>", "**bold**", "javascript:"))


def test_leaving_and_coming_back_to_the_page_works(engine, dados):
    at = page(engine)
    at.switch_page("pages/screens/visao_geral.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert len(card_ids(at)) == 20


@pytest.fixture
def com_problema(engine):
    """Two conversas: the bot had no answer for one; the other went well. Both analysed."""
    from core.review.analysis import analyze_pending

    ids = {}

    def build(session):
        loja = add_cliente(session)
        ids["fallback"] = add_conversa(session, loja, [
            "Vcs entregam em Campinas?", "Desculpe, não encontrei essa informação.",
            "Vcs entregam em Campinas???", "Desculpe, não encontrei essa informação."]).id
        ids["boa"] = add_conversa(session, loja, [
            "Qual o horário de vocês?", "Abrimos das 8h às 18h, de segunda a sábado.",
            "Obrigado!", "Por nada!"]).id
    seed_engine(engine, build)
    analyze_pending(engine)
    return ids


def test_the_problem_filter_lists_only_conversas_with_that_detected_problem(engine, com_problema):
    at = page(engine)
    assert sorted(card_ids(at)) == sorted(com_problema.values())
    at.selectbox(key="f_problema").select("fallback").run()
    assert card_ids(at) == [com_problema["fallback"]]
    assert at.query_params["problema"] in ("fallback", ["fallback"])
    assert "Neste filtro:** 0 boas, 0 ruins, 1 sem avaliação" in markdown(at)


def test_an_unrated_card_shows_the_analysis_suggestion_but_stays_unrated(engine, com_problema):
    at = page(engine)
    captions = "\n".join(c.value for c in at.caption)
    assert "Sugestão da análise: ruim" in captions and "é só uma sugestão" in captions
    with session_scope_for(engine) as session:
        assert session.get(Conversa, com_problema["fallback"]).avaliacao is None


def test_a_link_with_conversa_id_opens_that_conversa_expanded(engine, com_problema):
    at = logged_in_dashboard(engine)
    at.query_params["conversa"] = str(com_problema["boa"])
    at.switch_page(PAGE).run()
    assert not at.exception
    assert f"Conversa #{com_problema['boa']}" in [s.value for s in at.subheader]
    assert any(b.key == f"link-boa-{com_problema['boa']}" for b in at.button)
    at.button(key=f"link-boa-{com_problema['boa']}").click().run()
    with session_scope_for(engine) as session:
        assert session.get(Conversa, com_problema["boa"]).avaliacao == "boa"


def test_a_link_to_an_unknown_conversa_says_so_in_portuguese(engine, com_problema):
    at = logged_in_dashboard(engine)
    at.query_params["conversa"] = "999999"
    at.switch_page(PAGE).run()
    assert not at.exception
    assert any("não encontrada" in e.value for e in at.error)
