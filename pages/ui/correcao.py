"""Corrections on a conversa's card ("Todas as Conversas" and the conversation detail).

The admin marks a bot answer that went wrong and writes the right one; it is saved with
who and when, can be edited or removed, and is shown under the original. The rating is
not touched. conversas.py calls `first_messages` for the card's first lines and
`render_messages` inside "Ver conversa completa". Text from the database is shown with
st.text (never markdown) and names through plain().
"""
from __future__ import annotations

import streamlit as st

from core.db import session_scope
from core.errors import CuradoriaError
from core.formato import plural
from core.review.corrections import corrections_of, remove_correction, save_correction
from pages.ui.common import current_user, plain, session_still_valid, show_error, when


def _key(prefixo: str, mensagem_id: int, parte: str) -> str:
    return f"{prefixo}corr-{parte}-{mensagem_id}"


def _erro_key(prefixo: str, conversa_id: int) -> str:
    return f"{prefixo}corr-erro-{conversa_id}"


def _correcoes(conversa_id: int) -> dict:
    with session_scope() as session:
        return corrections_of(session, conversa_id)


def first_messages(mensagens, conversa_id: int, linha=None) -> None:
    """The card's first lines (each written by `linha`, whole by default); a corrected bot
    answer has its correction under it."""
    correcoes = _correcoes(conversa_id)
    linha = linha or (lambda m: f"{'Cliente' if m.role == 'user' else 'Bot'}: {m.conteudo}")
    # One container: the card keeps its number of elements whatever the corrections, so
    # Streamlit keeps the state of what follows (the open "Ver conversa completa").
    with st.container():
        for m in mensagens:
            st.text(linha(m))
            if m.id in correcoes:
                st.text(f"Correção: {correcoes[m.id].resposta_correta}")
        if mais := len(set(correcoes) - {m.id for m in mensagens}):
            st.caption(f"Mais {plural(mais, 'resposta do bot corrigida', 'respostas do bot corrigidas')} "
                       "em \"Ver conversa completa\".")


# --- callbacks (run before the page's own login check: each checks the session) ---------

def _start(prefixo: str, mensagem_id: int, texto: str) -> None:
    if not session_still_valid():
        return
    st.session_state[_key(prefixo, mensagem_id, "editando")] = True
    st.session_state[_key(prefixo, mensagem_id, "texto")] = texto


def _cancel(prefixo: str, mensagem_id: int) -> None:
    st.session_state.pop(_key(prefixo, mensagem_id, "editando"), None)


def _save(prefixo: str, conversa_id: int, mensagem_id: int) -> None:
    if not session_still_valid():
        return
    texto = st.session_state.get(_key(prefixo, mensagem_id, "texto"), "")
    try:
        with session_scope() as session:
            save_correction(session, mensagem_id, texto, current_user(), conversa_id)
    except CuradoriaError as exc:
        st.session_state[_erro_key(prefixo, conversa_id)] = str(exc)
        return
    st.session_state.pop(_key(prefixo, mensagem_id, "editando"), None)
    st.session_state[_key(prefixo, mensagem_id, "aviso")] = "Correção salva."


def _remove(prefixo: str, conversa_id: int, mensagem_id: int) -> None:
    if not session_still_valid():
        return
    try:
        with session_scope() as session:
            remove_correction(session, mensagem_id)
    except CuradoriaError as exc:
        st.session_state[_erro_key(prefixo, conversa_id)] = str(exc)
        return
    st.session_state[_key(prefixo, mensagem_id, "aviso")] = "Correção removida."


# --- the conversation with its corrections ------------------------------------------------

def render_messages(mensagens, conversa_id: int, prefixo: str = "") -> None:
    """Every message; under each bot answer its correction, or the button to write one."""
    if erro := st.session_state.pop(_erro_key(prefixo, conversa_id), None):
        show_error(erro)
    correcoes = _correcoes(conversa_id)
    for m in mensagens:
        with st.chat_message("user" if m.role == "user" else "assistant"):
            st.text(m.conteudo)
            st.caption(when(m.enviada_em))
            if m.role == "assistant":
                _bot_answer(m, correcoes.get(m.id), conversa_id, prefixo)


def _bot_answer(m, correcao, conversa_id: int, prefixo: str) -> None:
    with st.container(key=_key(prefixo, m.id, "bloco")):
        if aviso := st.session_state.pop(_key(prefixo, m.id, "aviso"), None):
            st.caption(aviso)
        if st.session_state.get(_key(prefixo, m.id, "editando")):
            st.text_area("Resposta correta", key=_key(prefixo, m.id, "texto"),
                         placeholder="O que o bot deveria ter respondido")
            c1, c2 = st.columns(2)
            c1.button("Salvar correção", key=_key(prefixo, m.id, "salvar"), type="primary",
                      icon=":material/save:", on_click=_save, args=(prefixo, conversa_id, m.id))
            c2.button("Cancelar", key=_key(prefixo, m.id, "cancelar"), on_click=_cancel,
                      args=(prefixo, m.id))
        elif correcao is not None:
            st.markdown("**Correção** (o que o bot deveria ter respondido):")
            st.text(correcao.resposta_correta)
            quem = f"Corrigida por {plain(correcao.criada_por or '—')} em {when(correcao.criada_em)}"
            if correcao.atualizada_em:
                quem += (f"; alterada por {plain(correcao.atualizada_por or '—')} "
                         f"em {when(correcao.atualizada_em)}")
            st.caption(quem)
            c1, c2 = st.columns(2)
            c1.button("Editar correção", key=_key(prefixo, m.id, "editar"), icon=":material/edit:",
                      on_click=_start, args=(prefixo, m.id, correcao.resposta_correta))
            c2.button("Remover correção", key=_key(prefixo, m.id, "remover"), icon=":material/delete:",
                      on_click=_remove, args=(prefixo, conversa_id, m.id))
        else:
            st.button("Corrigir resposta", key=_key(prefixo, m.id, "corrigir"),
                      icon=":material/edit_note:", on_click=_start, args=(prefixo, m.id, ""),
                      help="Marque esta resposta do bot como errada e escreva a certa.")
