"""One conversa as a compact card of the list: who, when, the first lines, the rating
buttons, the analysis' suggestion; the full conversa loads only when it is opened.

Message content comes from strangers and is always shown with st.text (never markdown).
"""
from __future__ import annotations

import streamlit as st

from core.db import session_scope
from core.errors import CuradoriaError
from core.review.analysis import PROBLEMAS
from core.review.conversations import get_conversation, rate_conversation
from core.review.ratings import accept_suggestions, rate_many, rating_history
from pages.ui import correcao
from pages.ui.common import current_user, numero, plain, session_still_valid, when
from pages.ui.filtros import AVALIACOES, STATUS
from pages.ui.highlight import highlighted
from pages.ui.historico_avaliacoes import history_table
from pages.ui.rotulos import rotulo_da_conversa

LINHA_MAX = 140  # characters of each first line on a closed card
LINHAS = 3  # first messages shown on a closed card
ERRO_KEY = "erro_avaliacao"


def selection_key(conversa_id: int) -> str:
    return f"sel-{conversa_id}"


def selected_ids() -> list[int]:
    """Ids of the cards whose checkbox is ticked (Streamlit drops the state of checkboxes
    that are no longer drawn, so: the cards of the page on screen)."""
    return sorted(int(k[4:]) for k, v in st.session_state.items()
                  if isinstance(k, str) and k.startswith("sel-") and v)


def clear_selection() -> None:
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith("sel-")]:
        st.session_state[key] = False


def _run(action) -> None:
    """Run a rating callback: nothing once the session ended, a pt-BR error if it fails."""
    if not session_still_valid():  # a callback runs before any login check
        return
    try:
        with session_scope() as session:
            action(session)
    except CuradoriaError as exc:
        st.session_state[ERRO_KEY] = str(exc)


def rate(conversa_id: int, avaliacao: str | None) -> None:
    _run(lambda s: rate_conversation(s, conversa_id, avaliacao, current_user()))


def accept(conversa_id: int) -> None:
    _run(lambda s: accept_suggestions(s, [conversa_id], current_user()))


def rate_selected(avaliacao: str) -> None:
    ids = selected_ids()
    _run(lambda s: rate_many(s, ids, avaliacao, current_user()))
    clear_selection()


def accept_selected() -> None:
    ids = selected_ids()
    _run(lambda s: accept_suggestions(s, ids, current_user()))
    clear_selection()


def badge(avaliacao: str | None) -> None:
    if avaliacao == "boa":
        st.badge("Boa", icon=":material/thumb_up:", color="green")
    elif avaliacao == "ruim":
        st.badge("Ruim", icon=":material/thumb_down:", color="red")
    else:
        st.badge("Sem avaliação", color="gray")


def render_messages(mensagens) -> None:
    for m in mensagens:
        with st.chat_message("user" if m.role == "user" else "assistant"):
            st.text(m.conteudo)
            st.caption(when(m.enviada_em))


def suggestion_text(sugestao) -> str | None:
    """'Sugestão da análise: ruim (o bot não tinha a informação)' for an unrated conversa."""
    if sugestao is None or (not sugestao.avaliacao_sugerida and not sugestao.problemas):
        return None
    partes = [f"Sugestão da análise: {AVALIACOES.get(sugestao.avaliacao_sugerida, 'sem sugestão').lower()}"]
    if sugestao.problemas:
        partes.append("(" + ", ".join(PROBLEMAS[c].lower() for c in sugestao.problemas) + ")")
    return " ".join(partes)


def first_line(m, largura: int = LINHA_MAX) -> str:
    """'Cliente: ...' or 'Bot: ...' on one line, cut at `largura` characters."""
    texto = " ".join(m.conteudo.split())
    if len(texto) > largura:
        texto = texto[:largura - 1].rstrip() + "…"
    return f"{'Cliente' if m.role == 'user' else 'Bot'}: {texto}"


def first_lines(mensagens, linhas: int = LINHAS, largura: int = LINHA_MAX) -> str:
    """'Cliente: ...\\nBot: ...', each line cut at `largura` characters."""
    return "\n".join(first_line(m, largura) for m in mensagens[:linhas])


def _full_conversation(conversa, expandida: bool, prefixo: str) -> None:
    """The whole conversa, read from the database only while the expander is open."""
    aberto = st.expander("Ver conversa completa", expanded=expandida,
                         key=f"{prefixo}abrir-{conversa.id}", on_change="rerun")
    if not (aberto.open or expandida):
        return
    with aberto:
        with session_scope() as session:
            detalhe = get_conversation(session, conversa.id)
            historico = rating_history(session, conversa.id)
        correcao.render_messages(detalhe.mensagens, conversa.id, prefixo)
        st.markdown("**Histórico de avaliações**")
        history_table(historico)


def render_card(conversa, sugestao=None, expandida: bool = False, prefixo: str = "",
                selecionavel: bool = True) -> None:
    """A compact card: a header line, the first lines, buttons; the rest on demand."""
    sugerida = sugestao.avaliacao_sugerida if sugestao else None
    with st.container(border=True, key=f"{prefixo}card-{conversa.id}"):
        info, actions = st.columns([3, 2], vertical_alignment="top")
        with info:
            cabecalho = f"{conversa.cliente_nome} · {conversa.whatsapp}" + (
                f" · {conversa.contato_nome}" if conversa.contato_nome else "")
            if selecionavel:
                st.checkbox(plain(cabecalho), key=selection_key(conversa.id))
            else:
                st.text(cabecalho)
            st.caption(f"{when(conversa.iniciada_em)} · {plain(STATUS.get(conversa.status, conversa.status))}"
                       f" · {numero(conversa.total_mensagens)} mensagens · conversa #{conversa.id}"
                       f" · Modelo: {plain(conversa.modelo_usado or '—')}")
            rotulo_da_conversa(conversa.id, sugestao, prefixo)
        with actions:
            with st.container(horizontal=True, horizontal_alignment="right",
                              vertical_alignment="center"):
                with st.container(key=f"{prefixo}badge-{conversa.id}", width="content"):
                    badge(conversa.avaliacao)
                st.button("Boa", key=f"{prefixo}boa-{conversa.id}", icon=":material/thumb_up:",
                          on_click=rate, args=(conversa.id, "boa"),
                          type="primary" if conversa.avaliacao == "boa" else "secondary")
                st.button("Ruim", key=f"{prefixo}ruim-{conversa.id}", icon=":material/thumb_down:",
                          on_click=rate, args=(conversa.id, "ruim"),
                          type="primary" if conversa.avaliacao == "ruim" else "secondary")
                st.button("Remover", key=f"{prefixo}sem-{conversa.id}", on_click=rate,
                          args=(conversa.id, None), disabled=conversa.avaliacao is None,
                          help="Remover avaliação")
            if conversa.avaliado_em:
                st.caption(f"Avaliada por {plain(conversa.avaliado_por or '—')} "
                           f"em {when(conversa.avaliado_em)}")
        if conversa.avaliacao is None and (texto := suggestion_text(sugestao)):
            dica, aceitar = st.columns([4, 1], vertical_alignment="center")
            dica.caption(texto + " — é só uma sugestão; a avaliação é sua.")
            if sugerida:
                aceitar.button("Aceitar sugestão", key=f"{prefixo}aceitar-{conversa.id}",
                               icon=":material/done_all:", on_click=accept, args=(conversa.id,),
                               help=f"Avaliar como {AVALIACOES[sugerida].lower()}, como a análise sugere.")
        if conversa.trecho:  # the search's matched words, highlighted; the rest is escaped text
            st.markdown("…" + highlighted(conversa.trecho) + "…")
        if conversa.primeiras_mensagens:
            correcao.first_messages(conversa.primeiras_mensagens[:LINHAS], conversa.id, first_line)
        _full_conversation(conversa, expandida, prefixo)
