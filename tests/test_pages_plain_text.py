"""Text from the database or the URL is shown as written, never read as markdown.

A cliente named like a markdown document, a model name, a reviewer recorded by another
tool, a provider's error, a notification and a `?conversa=` link full of markdown: on
every screen, no element that renders markdown receives any of them unescaped, and what
the reader sees is the original text."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.db import session_scope
from core.db.tables import Cliente, Conversa, FineTuningJob
from core.poller.notify import create_notification
from pages.ui.common import chart_text, plain
from tests.conversas_factory import add_cliente, add_conversa
from tests.pages_helpers import DASHBOARD, logged_in_dashboard, menu_pages, shown

NOME = "**Loja** [x](http://evil.example) :red[oi] $x^2$ <b>b</b> :material/home: www.evil.example"
MODELO = "ft:**gpt**-[m](http://evil.example):org:$y$"
REVISOR = "__bob__ [r](http://evil.example)"
ERRO = "# falhou [e](http://evil.example) :blue[erro] `code` ~~riscado~~"
LINK = "[x](http://evil.example) **negrito** $z$"
# What must never reach a markdown element as is (each one is a formatting construct).
CRUS = ("**Loja**", "[x](http://evil.example)", ":red[oi]", "$x^2$", "<b>b</b>", ":material/home:",
        "**gpt**", "[m](http://evil.example)", "__bob__", "[r](http://evil.example)",
        "[e](http://evil.example)", ":blue[erro]", "`code`", "~~riscado~~", "**negrito**", "$z$",
        "$y$")
# Elements whose text Streamlit shows as is (no markdown): they may hold the raw text.
SEM_MARKDOWN = {"text", "code", "arrow_data_frame", "dataframe", "selectbox", "text_area",
                "text_input", "number_input", "date_input", "plotly_chart", "download_button"}


@pytest.fixture
def hostil(engine):
    with session_scope(engine) as session:
        cliente = add_cliente(session, slug="evil", nome=NOME)
        session.get(Cliente, cliente.id).modelo_ativo = MODELO
        for h in range(3):
            conversa = add_conversa(session, cliente, ["Oi", "Olá"], avaliacao="ruim",
                                    inicio=dt.datetime(2026, 11, 10, 9 + h))
            conversa.avaliado_por, conversa.avaliado_em = REVISOR, dt.datetime(2026, 11, 11, 9)
        session.add(FineTuningJob(cliente_id=cliente.id, openai_job_id="ftjob-evil", status="running",
                                  modelo_base="gpt-4.1-mini-2025-04-14", conversas_usadas=80,
                                  tokens_estimados=100_000, custo_estimado_usd=Decimal("0.50"),
                                  custo_estimado=Decimal("2.75"), epocas=3,
                                  ultimo_erro_transitorio=ERRO, iniciado_por=REVISOR))
        create_notification(session, chave="evil-1", tipo="job_falhou", titulo=NOME, mensagem=ERRO,
                            cliente_id=cliente.id)
    return engine


def walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def unescaped(at) -> list[str]:
    """Every raw construct found in an element that renders markdown."""
    found = []
    for node in walk(at._tree):
        if getattr(node, "type", None) in SEM_MARKDOWN or getattr(node, "proto", None) is None:
            continue
        source = str(node.proto)
        found += [f"{node.type}: {cru}" for cru in CRUS if cru in source]
    return found


@pytest.mark.parametrize("path", menu_pages())
def test_no_screen_hands_database_text_to_markdown_unescaped(hostil, path):
    at = logged_in_dashboard(hostil, page=path)
    assert not at.exception, at.exception
    assert unescaped(at) == []


def test_the_name_shows_as_written_where_markdown_is_used(hostil):
    at = logged_in_dashboard(hostil, page="pages/screens/fine_tuning.py")
    assert [shown(s.value) for s in at.subheader] == [NOME]
    assert any(shown(c.value).endswith(f"Modelo em uso: {MODELO}") for c in at.caption)
    assert any(f"iniciado por {REVISOR}" in shown(i.value) for i in at.info)
    assert any(ERRO in shown(c.value) for c in at.caption)  # the live progress fragment
    at = logged_in_dashboard(hostil, page="pages/screens/analise.py", usuario="bia")
    assert any(shown(m.value).startswith(f"**{NOME}** — marcadas") for m in at.markdown)


def test_a_conversa_link_full_of_markdown_is_quoted_as_text(hostil):
    at = logged_in_dashboard(hostil)
    at.switch_page("pages/screens/conversas.py")
    at.query_params["conversa"] = LINK
    at.run()
    assert not at.exception
    [aviso] = at.warning
    assert shown(aviso.value) == f"Link de conversa inválido: '{LINK}'."
    assert unescaped(at) == []
    assert any(shown(c.value).startswith(f"Avaliada por {REVISOR} em ") for c in at.caption)


def test_the_sidebar_toast_of_a_new_notification_is_plain_text(hostil):
    at = logged_in_dashboard(hostil)
    with session_scope(hostil) as session:
        create_notification(session, chave="evil-2", tipo="job_falhou", titulo=NOME + " 2")
    at.run()
    assert [shown(t.value) for t in at.toast] == [NOME + " 2"]
    assert unescaped(at) == []


@pytest.mark.parametrize("texto", [NOME, MODELO, REVISOR, ERRO, LINK, "a\\b", "1. item", "- x",
                                   "user@example.com", "https://evil.example/x", "&amp; &#60;"])
def test_plain_text_reads_back_as_the_original(texto):
    assert shown(plain(texto)) == texto
    assert not any(cru in plain(texto) for cru in CRUS)


def test_chart_labels_are_entity_escaped_for_plotly():
    assert chart_text(NOME).count("<") == 0 and "&lt;b&gt;b&lt;/b&gt;" in chart_text(NOME)


def test_the_dashboard_is_the_only_script_streamlit_can_run():
    """No .py directly in pages/: Streamlit would serve it as a page without the gate."""
    from pathlib import Path
    pages = Path(DASHBOARD).parent / "pages"
    assert sorted(p.name for p in pages.glob("*.py")) == ["__init__.py"]
