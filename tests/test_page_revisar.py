"""Revisar (the review queue), bulk rating and accepting suggestions on the list, and who
rated what on Histórico, through Streamlit's AppTest (both databases)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.db.tables import AvaliacaoHistorico, Conversa
from core.review.analysis import analyze_pending
from core.review.ratings import TAG_SUGESTAO_ACEITA
from tests.conversas_factory import add_cliente, add_conversa, seed_engine
from tests.pages_helpers import logged_in_dashboard, shown

REVISAR = "pages/screens/revisar.py"
CONVERSAS = "pages/screens/conversas.py"
HISTORICO = "pages/screens/historico.py"
FALLBACK = ["Vcs entregam em Campinas?", "Desculpe, não encontrei essa informação.",
            "Vcs entregam em Campinas???", "Desculpe, não encontrei essa informação."]


@pytest.fixture
def fila(engine):
    """Four conversas of 'Loja Exemplo' (the oldest one rated, one the bot could not
    answer) and one of 'Outra Loja'; analysed."""
    ids = {}

    def build(session):
        loja = add_cliente(session)
        outra = add_cliente(session, "outra", "Outra Loja")
        base = dt.datetime(2026, 11, 10, 15)
        ids["avaliada"] = add_conversa(session, loja, ["Já avaliada", "Sim"], avaliacao="boa",
                                       inicio=base).id
        ids["fallback"] = add_conversa(session, loja, FALLBACK,
                                       inicio=base + dt.timedelta(hours=1)).id
        ids["b"] = add_conversa(session, loja, ["Qual o horário?", "Das 8h às 18h."],
                                inicio=base + dt.timedelta(hours=2)).id
        ids["c"] = add_conversa(session, loja, ["<b>Oi</b> **negrito**", "Olá!"],
                                inicio=base + dt.timedelta(hours=3)).id
        ids["outra"] = add_conversa(session, outra, ["Quero trocar", "Claro"],
                                    inicio=base + dt.timedelta(hours=4)).id
    seed_engine(engine, build)
    analyze_pending(engine)
    return ids


def shown_id(at) -> int | None:
    heads = [s.value for s in at.subheader if s.value.startswith("Conversa #")]
    return int(heads[0].split("#")[1]) if heads else None


def trail(engine, conversa_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(AvaliacaoHistorico.avaliacao_nova, AvaliacaoHistorico.avaliado_por,
                   AvaliacaoHistorico.motivo, AvaliacaoHistorico.tags)
            .where(AvaliacaoHistorico.conversa_id == conversa_id).order_by(AvaliacaoHistorico.id))]


def rating(engine, conversa_id: int) -> str | None:
    with session_scope(engine) as session:
        return session.get(Conversa, conversa_id).avaliacao


def test_the_queue_shows_unrated_conversas_newest_first_and_rates_with_a_reason(engine, fila):
    at = logged_in_dashboard(engine, page=REVISAR)
    assert not at.exception, at.exception
    assert at.title[0].value == "Revisar"
    assert shown_id(at) == fila["outra"]
    assert "Quero trocar" in [t.value for t in at.text]
    at.text_input(key=f"rv_motivo_{fila['outra']}").input("respondeu certo").run()
    at.button_group(key=f"rv_tags_{fila['outra']}").set_value(["resposta ótima"]).run()
    at.button(key="rv-boa").click().run()
    assert not at.exception, at.exception
    assert rating(engine, fila["outra"]) == "boa"
    assert trail(engine, fila["outra"]) == [("boa", "ana", "respondeu certo", "resposta ótima")]
    assert shown_id(at) == fila["c"]  # the next one at once
    assert at.text_input(key=f"rv_motivo_{fila['c']}").value == ""  # a reason is per rating
    # Message content is text, never markup.
    assert "<b>Oi</b> **negrito**" in [t.value for t in at.text]
    at.button(key="rv-ruim").click().run()
    assert rating(engine, fila["c"]) == "ruim" and trail(engine, fila["c"]) == [("ruim", "ana", None, None)]
    assert shown_id(at) == fila["b"]
    assert "2 avaliada(s) nesta sessão" in " ".join(c.value for c in at.caption)


def test_skip_and_back_move_through_the_queue_without_rating(engine, fila):
    at = logged_in_dashboard(engine, page=REVISAR)
    at.button(key="rv-pular").click().run()
    assert shown_id(at) == fila["c"]
    at.button(key="rv-pular").click().run()
    assert shown_id(at) == fila["b"]
    at.button(key="rv-voltar").click().run()
    assert shown_id(at) == fila["c"]
    at.button(key="rv-voltar").click().run()
    assert shown_id(at) == fila["outra"]
    assert at.button(key="rv-voltar").disabled
    assert all(rating(engine, fila[k]) is None for k in ("outra", "c", "b"))


def test_accepting_the_suggestion_in_the_queue(engine, fila):
    at = logged_in_dashboard(engine)
    at.query_params["cliente"] = "loja"
    at.switch_page(REVISAR).run()
    for _ in range(2):  # c and b: the bot answered, no problem suggested as ruim
        at.button(key="rv-pular").click().run()
    assert shown_id(at) == fila["fallback"]
    problemas = "\n".join(m.value for m in at.markdown)
    assert "Análise automática" in problemas
    assert not at.button(key="rv-aceitar").disabled
    at.button(key="rv-aceitar").click().run()
    assert rating(engine, fila["fallback"]) == "ruim"
    assert trail(engine, fila["fallback"])[-1][3] == TAG_SUGESTAO_ACEITA
    # Then the rated conversa of this cliente; after it, the queue is done.
    assert shown_id(at) == fila["avaliada"]
    at.button(key="rv-pular").click().run()
    assert any("Nenhuma conversa a revisar" in s.value for s in at.success)


def test_going_back_shows_the_rating_and_its_history(engine, fila):
    at = logged_in_dashboard(engine, page=REVISAR)
    at.text_input(key=f"rv_motivo_{fila['outra']}").input("ok").run()
    at.button(key="rv-boa").click().run()
    at.button(key="rv-voltar").click().run()
    assert shown_id(at) == fila["outra"]
    [historico] = [e for e in at.expander if e.label.startswith("Histórico de avaliações")]
    assert historico.label == "Histórico de avaliações (1)"
    [linha] = historico.text[0].value.splitlines()
    assert linha.endswith(" · ana · Sem avaliação → Boa · motivo: ok")


def test_the_queue_uses_the_filters_of_the_url(engine, fila):
    at = logged_in_dashboard(engine)
    at.query_params["avaliacao"] = "boa"
    at.switch_page(REVISAR).run()
    assert shown_id(at) == fila["avaliada"]
    at.selectbox(key="f_avaliacao").set_value("").run()
    at.selectbox(key="f_cliente").set_value("outra").run()
    assert shown_id(at) == fila["outra"]
    assert at.query_params["cliente"] == "outra"


# --- the list: several at once, accepting a suggestion -----------------------------------

def test_rating_several_cards_at_once(engine, fila):
    at = logged_in_dashboard(engine, page=CONVERSAS)
    assert at.button(key="lote-boa").disabled
    at.checkbox(key=f"sel-{fila['b']}").check().run()
    at.checkbox(key=f"sel-{fila['c']}").check().run()
    assert any("2 selecionadas" in c.value for c in at.caption)
    at.button(key="lote-ruim").click().run()
    assert not at.exception, at.exception
    assert rating(engine, fila["b"]) == rating(engine, fila["c"]) == "ruim"
    assert rating(engine, fila["outra"]) is None
    assert not at.checkbox(key=f"sel-{fila['b']}").value  # the selection is cleared
    assert "Todas as conversas:** 1 boa, 2 ruins, 2 sem avaliação" in "\n".join(
        m.value for m in at.markdown)
    at.button(key="lote-todas").click().run()
    assert any("5 selecionadas" in c.value for c in at.caption)
    at.button(key="lote-boa").click().run()
    with session_scope(engine) as session:
        assert set(session.scalars(select(Conversa.avaliacao))) == {"boa"}


def test_the_list_links_to_the_queue_with_its_filters(engine, fila):
    at = logged_in_dashboard(engine, page=CONVERSAS)
    at.selectbox(key="f_cliente").set_value("outra").run()
    [link] = [p for p in at.get("page_link") if p.proto.label == "Revisar uma a uma"]
    assert link.proto.page.endswith("revisar") and "cliente=outra" in link.proto.query_string


def test_accepting_a_card_s_suggestion(engine, fila):
    at = logged_in_dashboard(engine, page=CONVERSAS)
    keys = {b.key for b in at.button}
    assert f"aceitar-{fila['fallback']}" in keys
    assert f"aceitar-{fila['avaliada']}" not in keys  # rated: no suggestion offered
    at.button(key=f"aceitar-{fila['fallback']}").click().run()
    assert rating(engine, fila["fallback"]) == "ruim"
    assert f"aceitar-{fila['fallback']}" not in {b.key for b in at.button}


def test_accepting_the_suggestions_of_the_selected_cards(engine, fila):
    at = logged_in_dashboard(engine, page=CONVERSAS)
    at.checkbox(key=f"sel-{fila['fallback']}").check().run()
    at.checkbox(key=f"sel-{fila['outra']}").check().run()
    at.button(key="lote-aceitar").click().run()
    assert rating(engine, fila["fallback"]) == "ruim"
    sugerida = None
    with session_scope(engine) as session:
        from core.review.analysis import get_suggestion
        sugerida = get_suggestion(session, fila["outra"]).avaliacao_sugerida
    assert rating(engine, fila["outra"]) == sugerida


def test_the_full_conversa_loads_only_when_the_card_is_opened(engine, fila):
    at = logged_in_dashboard(engine, page=CONVERSAS)
    texts = [t.value for t in at.text]
    first = texts.index("Cliente: Vcs entregam em Campinas?")
    assert texts[first:first + 3] == ["Cliente: Vcs entregam em Campinas?",
                                      "Bot: Desculpe, não encontrei essa informação.",
                                      "Cliente: Vcs entregam em Campinas???"]  # the first lines
    assert len(at.chat_message) == 0  # closed cards read no messages
    at.session_state[f"abrir-{fila['fallback']}"] = True
    at.run()
    assert len(at.chat_message) == 4
    assert "Nenhuma avaliação registrada." in [c.value for c in at.caption]
    at.button(key=f"boa-{fila['fallback']}").click().run()
    assert any(t.value.endswith(" · ana · Sem avaliação → Boa") for t in at.text)


# --- who rated what ----------------------------------------------------------------------

def test_historico_shows_ratings_per_admin_with_agreement(engine, fila):
    at = logged_in_dashboard(engine, page=REVISAR)
    at.button(key="rv-boa").click().run()  # outra: suggestion (if any) decides agreement
    at.button(key="rv-pular").click().run()
    at.button(key="rv-pular").click().run()
    at.button(key="rv-aceitar").click().run()  # fallback: agrees
    at.switch_page(HISTORICO).run()
    assert not at.exception, at.exception
    assert "Avaliações por administrador" in [s.value for s in at.subheader]
    por_admin = at.dataframe[-2].value
    assert list(por_admin["Administrador"]) == ["ana"]
    assert list(por_admin["Avaliações"]) == ["2"]
    por_dia = at.dataframe[-1].value
    assert list(por_dia["Avaliações"]) == [2]
    outra = next(o for o in at.selectbox(key="hist_cliente").options if o == "Outra Loja")
    at.selectbox(key="hist_cliente").select(outra).run()  # only the conversa of Outra Loja
    assert list(at.dataframe[-1].value["Avaliações"]) == [1]


def test_historico_without_ratings_says_so(engine):
    at = logged_in_dashboard(engine, page=HISTORICO)
    assert not at.exception, at.exception
    assert any(shown(c.value) == "Nenhuma avaliação nesse período." for c in at.caption)
