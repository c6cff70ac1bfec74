"""Revisar: one conversa at a time, unrated ones first, rated with the keyboard.

The queue uses the same filters as Todas as Conversas (same widgets, same URL). Keys
(Streamlit's own button shortcuts, ignored while typing in a field): 1 boa, 2 ruim,
A aceitar a sugestão, P pular, V voltar (letters: arrow keys move between the tag
buttons once one has the focus). An optional reason (text, then Enter or Tab to leave
the field, and tags) is saved with the rating. The screen keeps the next conversas loaded
ahead, so after a key the next one is drawn without waiting for the database.
Message content comes from strangers and is always shown with st.text (never markdown).
"""
from __future__ import annotations

import streamlit as st

from core.clientes.directory import list_clientes
from core.db import session_scope
from core.errors import CuradoriaError
from core.review.conversations import rate_conversation
from core.review.queue import load_items, queue_ids
from core.review.ratings import TAGS_SUGERIDAS, accept_suggestions, make_reason
from pages.ui.cartao import badge, render_messages
from pages.ui.common import (
    current_user,
    numero,
    plain,
    require_login,
    rerun_app_unless_logged_in,
    session_still_valid,
    show_error,
    when,
)
from pages.ui.filtros import AVALIACOES, STATUS, filter_values, read_filters, sync_url
from pages.ui.historico_avaliacoes import history_table
from pages.ui.navegador import run_once

require_login()  # before anything touches the database

LOTE = 20  # ids read from the queue at a time
ADIANTE = 3  # conversas loaded ahead of the one on screen
ATRAS = 5  # conversas kept for "voltar"
ESTADO = "rv"  # session_state key of the queue


def _new_state(chave) -> dict:
    return {"chave": chave, "fila": [], "cursor": None, "fim": False, "atual": None,
            "anteriores": [], "itens": {}, "feitas": set(), "avaliadas": 0}


def state() -> dict:
    return st.session_state[ESTADO]


def restart() -> None:
    """A filter changed: the queue starts again."""
    st.session_state.pop(ESTADO, None)


def _refill(q: dict, filtros: dict) -> None:
    """Keep at least ADIANTE + 1 ids waiting, reading the next batch when needed."""
    if q["fim"] or len(q["fila"]) > ADIANTE:
        return
    with session_scope() as session:
        ids, cursor = queue_ids(session, q["cursor"], LOTE, excluir=q["feitas"] | set(q["fila"])
                                | set(q["anteriores"]) | {q["atual"]}, **filtros)
    q["fila"].extend(ids)
    q["cursor"], q["fim"] = cursor, cursor is None


def _prefetch(q: dict) -> None:
    """Load the conversas just ahead; forget the ones far behind."""
    faltam = [cid for cid in q["fila"][:ADIANTE] if cid not in q["itens"]]
    if q["atual"] is not None and q["atual"] not in q["itens"]:
        faltam.insert(0, q["atual"])
    if faltam:
        with session_scope() as session:
            q["itens"].update(load_items(session, faltam))
    manter = {*q["fila"][:ADIANTE], *q["anteriores"][-ATRAS:], q["atual"]}
    for cid in [c for c in q["itens"] if c not in manter]:
        del q["itens"][cid]
    del q["anteriores"][:-ATRAS]


def _advance(q: dict) -> None:
    if q["atual"] is not None:
        q["anteriores"].append(q["atual"])
    q["atual"] = q["fila"].pop(0) if q["fila"] else None


def _reason_keys(conversa_id: int) -> tuple[str, str]:
    """Widget keys of the reason: one pair per conversa, so each starts empty even when the
    browser still holds the text typed for the previous one."""
    return f"rv_motivo_{conversa_id}", f"rv_tags_{conversa_id}"


def _reason():
    texto, tags = _reason_keys(state()["atual"])
    return make_reason(st.session_state.get(texto), st.session_state.get(tags) or ())


def _clear_reason() -> None:
    for key in _reason_keys(state()["atual"]):
        st.session_state.pop(key, None)


def _act(action) -> None:
    """A key or button: write through core, then show the next conversa."""
    if not session_still_valid():  # a callback runs before any login check
        return
    q = state()
    cid = q["atual"]
    if cid is None:
        return
    try:
        with session_scope() as session:
            action(session, cid)
    except CuradoriaError as exc:
        st.session_state["rv_erro"] = str(exc)
        return
    q["feitas"].add(cid)
    q["avaliadas"] += 1
    q["itens"].pop(cid, None)  # its rating and history changed: reload it if shown again
    _clear_reason()
    _advance(q)


def rate(avaliacao: str) -> None:
    _act(lambda session, cid: rate_conversation(session, cid, avaliacao, current_user(),
                                                _reason()))


def accept() -> None:
    def action(session, cid):
        if not accept_suggestions(session, [cid], current_user(), _reason()):
            raise CuradoriaError("Esta conversa não tem sugestão da análise para aceitar.")
    _act(action)


def skip() -> None:
    if session_still_valid():
        _clear_reason()
        _advance(state())


def back() -> None:
    q = state()
    if not session_still_valid() or not q["anteriores"]:
        return
    if q["atual"] is not None:
        q["fila"].insert(0, q["atual"])
    q["atual"] = q["anteriores"].pop()
    q["itens"].pop(q["atual"], None)  # reread: it may have been rated since
    _clear_reason()


def leave_reason_field() -> None:
    """Enter in the reason field: the next run takes the focus off it, so 1 / 2 / A rate
    (while a field has the focus, keys type into it)."""
    st.session_state["rv_sair_do_campo"] = True


def release_focus() -> None:
    if st.session_state.pop("rv_sair_do_campo", False):
        run_once("const campo = document.activeElement;"
                 " if (campo?.closest('[class*=\"st-key-rv_motivo_\"]')) campo.blur();")


def suggestion(item) -> None:
    sugestao = item.sugestao
    st.markdown("**Análise automática**")
    if sugestao is None:
        st.caption("Ainda não analisada.")
        return
    if sugestao.problemas:
        for rotulo in sugestao.rotulos:
            st.markdown(f"- {plain(rotulo)}")
    else:
        st.caption("Nenhum problema detectado.")
    if sugestao.avaliacao_sugerida:
        st.caption(f"Sugestão: **{AVALIACOES[sugestao.avaliacao_sugerida].lower()}** "
                   "— é só uma sugestão; a avaliação é sua.")


def actions(q: dict, item) -> None:
    sugerida = item.sugestao.avaliacao_sugerida if item.sugestao else None
    c1, c2 = st.columns(2)
    c1.button("Boa", key="rv-boa", shortcut="1", icon=":material/thumb_up:", on_click=rate,
              args=("boa",), width="stretch")
    c2.button("Ruim", key="rv-ruim", shortcut="2", icon=":material/thumb_down:", on_click=rate,
              args=("ruim",), width="stretch")
    st.button("Aceitar sugestão" + (f" ({AVALIACOES[sugerida].lower()})" if sugerida else ""),
              key="rv-aceitar", shortcut="A", icon=":material/done_all:",
              on_click=accept, disabled=not sugerida, width="stretch",
              help="Avaliar como a análise sugere." if sugerida else
              "A análise não sugeriu uma avaliação para esta conversa.")
    c4, c5 = st.columns(2)
    c4.button("Voltar", key="rv-voltar", shortcut="V", icon=":material/undo:", on_click=back,
              disabled=not q["anteriores"], width="stretch")
    c5.button("Pular", key="rv-pular", shortcut="P", icon=":material/skip_next:",
              on_click=skip, width="stretch")
    texto, tags = _reason_keys(q["atual"])
    st.text_input("Motivo (opcional)", key=texto, max_chars=300,
                  placeholder="Ex.: não informou o prazo", on_change=leave_reason_field,
                  help="Escreva, tecle Enter (ou Tab) e avalie: o motivo fica salvo com a "
                       "avaliação.")
    st.pills("Etiquetas (opcional)", TAGS_SUGERIDAS, selection_mode="multi", key=tags)


def heading(item) -> None:
    c = item.detalhe.conversa
    st.subheader(f"Conversa #{c.id}")
    st.text(f"{c.cliente_nome} · {c.whatsapp}" + (f" · {c.contato_nome}" if c.contato_nome else ""))
    st.caption(f"{when(c.iniciada_em)} · {plain(STATUS.get(c.status, c.status))} · "
               f"{numero(c.total_mensagens)} mensagens · Modelo: {plain(c.modelo_usado or '—')}")


@st.fragment
def review(filtros: dict) -> None:
    rerun_app_unless_logged_in()
    chave = tuple(sorted(filter_values().items()))
    if st.session_state.get(ESTADO, {}).get("chave") != chave:
        st.session_state[ESTADO] = _new_state(chave)
    q = state()
    if erro := st.session_state.pop("rv_erro", None):
        show_error(erro)
    try:
        _refill(q, filtros)
        if q["atual"] is None:
            _advance(q)
        if q["atual"] is not None and q["atual"] not in q["itens"]:
            _prefetch(q)
    except CuradoriaError as exc:
        show_error(exc)
        return
    sync_url(com_pagina=False)
    st.caption(f"{numero(q['avaliadas'])} avaliada(s) nesta sessão · teclas: 1 boa, 2 ruim, "
               "A aceitar sugestão, P pular, V voltar")
    item = q["itens"].get(q["atual"])
    if item is None:
        st.success("Nenhuma conversa a revisar com esses filtros.", icon=":material/task_alt:")
        if q["anteriores"]:
            st.button("Voltar", key="rv-voltar", shortcut="V", icon=":material/undo:",
                      on_click=back)
        return
    heading(item)
    left, right = st.columns([3, 2], gap="large")
    with right:  # drawn first: the keys work again as soon as the buttons are back
        with st.container(key="rv-estado"):
            badge(item.detalhe.conversa.avaliacao)
        suggestion(item)
        actions(q, item)
        with st.expander(f"Histórico de avaliações ({len(item.historico)})"):
            history_table(item.historico)
    with left, st.container(key="rv-mensagens", height=520, autoscroll=False):
        render_messages(item.detalhe.mensagens)
    release_focus()  # last: an element that comes and goes shifts nothing after it
    _prefetch(q)  # after drawing: the next conversas are ready for the next key


st.title("Revisar")
with session_scope() as session:
    clientes = list_clientes(session)
filtros = read_filters(clientes, on_change=restart)
review(filtros)
