"""Todas as Conversas: filter, search, read and rate every conversa.

Filters and page live in the URL (st.query_params) so a view can be shared. The result
list is a fragment: a rating or a page change reruns only the list and its counters.
Message content comes from strangers and is always shown with st.text (never markdown).
"""
from __future__ import annotations

import streamlit as st

from core.clientes.directory import list_clientes
from core.db import session_scope
from core.review.search_index import search_behind_since
from core.errors import CuradoriaError
from core.formato import plural
from core.review.analysis import get_suggestions
from core.review.conversations import count_ratings, get_conversation, list_conversations
from pages.ui.cartao import (
    ERRO_KEY,
    accept_selected,
    clear_selection,
    rate_selected,
    render_card,
    selected_ids,
)
from pages.ui.common import numero, plain, require_login, rerun_app_unless_logged_in, show_error, when
from pages.ui.filtros import filter_values, read_filters, sync_url
from pages.ui.navegador import run_once

require_login()  # before anything touches the database

TOPO = "topo-lista"


def counter_text(counts: dict[str, int]) -> str:
    """'15 boas, 3 ruins, 82 sem avaliação'."""
    boas, ruins = counts["boa"], counts["ruim"]
    return (f"{numero(boas)} {'boa' if boas == 1 else 'boas'}, "
            f"{numero(ruins)} {'ruim' if ruins == 1 else 'ruins'}, "
            f"{numero(counts['sem'])} sem avaliação")


def go_to(pagina: int) -> None:
    st.session_state["pagina"] = max(1, pagina)
    st.session_state["rolar_topo"] = True


def scroll_to_top() -> None:
    """After a page change the reader starts at the top of the new page, not at its end."""
    if st.session_state.pop("rolar_topo", False):
        run_once(f"document.querySelector('.st-key-{TOPO}')?.scrollIntoView({{block: 'start'}});")


def select_page(ids: list[int]) -> None:
    for cid in ids:
        st.session_state[f"sel-{cid}"] = True


def pager(pagina, onde: str) -> None:
    prev, info, nxt = st.columns([1, 2, 1])
    prev.button("Anterior", icon=":material/chevron_left:", disabled=pagina.page <= 1,
                on_click=go_to, args=(pagina.page - 1,), key=f"pagina-anterior{onde}")
    info.caption(f"Página {pagina.page} de {numero(pagina.pages)}")
    nxt.button("Próxima", icon=":material/chevron_right:", disabled=pagina.page >= pagina.pages,
               on_click=go_to, args=(pagina.page + 1,), key=f"pagina-proxima{onde}")


def bulk_bar(ids_da_pagina: list[int]) -> None:
    """Rate every ticked card at once."""
    marcadas = selected_ids()
    with st.container(key="lote", horizontal=True, vertical_alignment="center"):
        st.caption(plural(len(marcadas), "selecionada") if marcadas
                   else "Marque conversas para avaliá-las de uma vez.")
        st.button("Selecionar a página", key="lote-todas", on_click=select_page,
                  args=(ids_da_pagina,), icon=":material/select_all:")
        st.button("Boa", key="lote-boa", icon=":material/thumb_up:", on_click=rate_selected,
                  args=("boa",), disabled=not marcadas, help="Avaliar as selecionadas como boas.")
        st.button("Ruim", key="lote-ruim", icon=":material/thumb_down:", on_click=rate_selected,
                  args=("ruim",), disabled=not marcadas, help="Avaliar as selecionadas como ruins.")
        st.button("Aceitar sugestões", key="lote-aceitar", icon=":material/done_all:",
                  on_click=accept_selected, disabled=not marcadas,
                  help="Avaliar cada selecionada como a análise sugere (as sem sugestão ficam como estão).")
        st.button("Limpar seleção", key="lote-limpar", on_click=clear_selection,
                  disabled=not marcadas, type="tertiary")


@st.fragment
def results(filtros: dict) -> None:
    rerun_app_unless_logged_in()
    st.container(key=TOPO, height=1, border=False)
    if erro := st.session_state.pop(ERRO_KEY, None):
        show_error(erro)
    try:
        with session_scope() as session:
            todas = count_ratings(session)
            pagina = list_conversations(session, **filtros, page=st.session_state["pagina"])
            filtradas = count_ratings(session, **filtros) if pagina.total_exato else None
    except CuradoriaError as exc:
        show_error(exc)
        return
    st.session_state["pagina"] = pagina.page
    sync_url()
    st.markdown(f"**Todas as conversas:** {counter_text(todas)}")
    if filtradas is not None and any(v is not None for v in filtros.values()):
        st.markdown(f"**Neste filtro:** {counter_text(filtradas)}")
    total = numero(pagina.total) if pagina.total_exato else f"mais de {numero(pagina.total)}"
    contagem, revisar = st.columns([3, 1])
    contagem.caption(f"{total} conversas · página {pagina.page} de {numero(pagina.pages)}")
    revisar.page_link("pages/screens/revisar.py", label="Revisar uma a uma",
                      icon=":material/rate_review:", query_params=filter_values(),
                      help="Abre a fila de revisão com estes filtros (teclas 1, 2, A, P, V).")
    if filtros.get("busca") and (atraso := search_behind()):
        st.caption(f"Índice de busca atualizado até {when(atraso)}: mensagens gravadas depois "
                   "ainda não aparecem na busca.")
    if not pagina.conversas:
        st.info("Nenhuma conversa encontrada com esses filtros.")
        return
    with session_scope() as session:
        sugestoes = get_suggestions(session, [c.id for c in pagina.conversas])
    bulk_bar([c.id for c in pagina.conversas])
    if pagina.pages > 1:
        pager(pagina, "-topo")
    for conversa in pagina.conversas:
        render_card(conversa, sugestoes.get(conversa.id))
    pager(pagina, "")
    scroll_to_top()  # last: the new page is in place, and nothing after it shifts


def search_behind():
    with session_scope() as session:
        return search_behind_since(session)


def close_linked() -> None:
    st.query_params.pop("conversa", None)


def linked_conversation() -> None:
    """A conversa opened from a link (?conversa=ID, e.g. from the analysis page)."""
    raw = st.query_params.get("conversa")
    if not raw:
        return
    try:
        with session_scope() as session:
            detalhe = get_conversation(session, int(raw))
            sugestao = get_suggestions(session, [detalhe.conversa.id]).get(detalhe.conversa.id)
    except ValueError:
        st.warning(f"Link de conversa inválido: '{plain(raw)}'.", icon=":material/link_off:")
        return
    except CuradoriaError as exc:
        show_error(exc)
        return
    st.subheader(f"Conversa #{detalhe.conversa.id}")
    render_card(detalhe.conversa, sugestao, expandida=True, prefixo="link-", selecionavel=False)
    st.button("Fechar esta conversa", on_click=close_linked, key="fechar-link",
              icon=":material/close:")
    st.divider()


st.title("Todas as Conversas")
with session_scope() as session:
    clientes = list_clientes(session)
linked_conversation()
filtros = read_filters(clientes)
results(filtros)
