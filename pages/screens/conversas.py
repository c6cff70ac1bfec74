"""Todas as Conversas: filter, search, read and rate every conversa.

Filters and page live in the URL (st.query_params) so a view can be shared. The result
list is a fragment: a rating or a page change reruns only the list and its counters.
Message content comes from strangers and is always shown with st.text (never markdown).
"""
from __future__ import annotations

import datetime as dt

import streamlit as st

from core.review.analysis import PROBLEMAS, get_suggestions, problem_condition
from core.clientes.directory import list_clientes
from core.review.conversations import count_ratings, get_conversation, list_conversations, rate_conversation
from core.db import session_scope
from core.review.search_index import search_behind_since
from core.errors import CuradoriaError
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
from pages.ui.highlight import highlighted

require_login()  # before anything touches the database

STATUS = {"ativa": "Ativa", "finalizada": "Finalizada", "aguardando": "Aguardando"}
AVALIACOES = {"boa": "Boa", "ruim": "Ruim", "sem": "Sem avaliação"}
TODOS = ""
PARAMS = ("cliente", "status", "avaliacao", "problema", "desde", "ate", "q", "pagina")


def counter_text(counts: dict[str, int]) -> str:
    """'15 boas, 3 ruins, 82 sem avaliação'."""
    boas, ruins = counts["boa"], counts["ruim"]
    return (f"{numero(boas)} {'boa' if boas == 1 else 'boas'}, "
            f"{numero(ruins)} {'ruim' if ruins == 1 else 'ruins'}, "
            f"{numero(counts['sem'])} sem avaliação")


def _date_param(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(st.query_params.get(name, ""))
    except ValueError:
        return None


def init_state(slugs: list[str]) -> None:
    """Widgets without a value in this session start from the URL.

    Checked key by key: Streamlit forgets a widget's value when another page is shown.
    """
    qp, state = st.query_params, st.session_state
    cliente, status, avaliacao = qp.get("cliente"), qp.get("status"), qp.get("avaliacao")
    problema = qp.get("problema")
    defaults = {
        "f_problema": problema if problema in PROBLEMAS else TODOS,
        "f_cliente": cliente if cliente in slugs else TODOS,
        "f_status": status if status in STATUS else TODOS,
        "f_avaliacao": avaliacao if avaliacao in AVALIACOES else TODOS,
        "f_periodo": tuple(d for d in (_date_param("desde"), _date_param("ate")) if d),
        "f_busca": qp.get("q", ""),
    }
    for key, value in defaults.items():
        if key not in state:
            state[key] = value
    if "pagina" not in state:
        try:
            state["pagina"] = max(1, int(qp.get("pagina", "1")))
        except ValueError:
            state["pagina"] = 1


def _periodo() -> tuple:
    periodo = st.session_state.get("f_periodo") or ()
    return (periodo,) if isinstance(periodo, dt.date) else tuple(periodo)


def reset_page() -> None:
    st.session_state["pagina"] = 1


def sync_url() -> None:
    """Write the current filters and page to the URL (only the ones in use)."""
    s = st.session_state
    periodo = _periodo()
    values = {
        "cliente": s.get("f_cliente"), "status": s.get("f_status"),
        "avaliacao": s.get("f_avaliacao"), "problema": s.get("f_problema"),
        "desde": periodo[0].isoformat() if len(periodo) > 0 else None,
        "ate": periodo[1].isoformat() if len(periodo) > 1 else None,
        "q": (s.get("f_busca") or "").strip(),
        "pagina": str(s["pagina"]) if s.get("pagina", 1) > 1 else None,
    }
    wanted = {k: v for k, v in values.items() if v}
    for key in PARAMS:
        if key not in wanted and key in st.query_params:
            del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def read_filters(clientes) -> dict:
    slugs = {c.slug: c for c in clientes}
    init_state(list(slugs))
    col1, col2, col3, col4 = st.columns([2, 1.3, 1.3, 2])
    col1.selectbox("Cliente", [TODOS, *slugs], key="f_cliente", on_change=reset_page,
                   format_func=lambda s: slugs[s].nome if s else "Todos os clientes")
    col2.selectbox("Status", [TODOS, *STATUS], key="f_status", on_change=reset_page,
                   format_func=lambda s: STATUS.get(s, "Todos"))
    col3.selectbox("Avaliação", [TODOS, *AVALIACOES], key="f_avaliacao", on_change=reset_page,
                   format_func=lambda s: AVALIACOES.get(s, "Todas"))
    col4.date_input("Período", key="f_periodo", on_change=reset_page, format="DD/MM/YYYY")
    col5, col6 = st.columns([4, 2])
    col5.text_input("Buscar nas mensagens", key="f_busca", on_change=reset_page,
                    placeholder="Ex.: entrega atrasada, reembolso, troca de tamanho")
    col6.selectbox("Problema detectado", [TODOS, *PROBLEMAS], key="f_problema",
                   on_change=reset_page, format_func=lambda c: PROBLEMAS.get(c, "Qualquer um"),
                   help="Problemas encontrados pela análise automática (página Análise de "
                        "Treinamento).")
    s = st.session_state
    periodo = _periodo()
    cliente = slugs.get(s["f_cliente"])
    return {
        "cliente_id": cliente.id if cliente else None,
        "status": s["f_status"] or None,
        "avaliacao": s["f_avaliacao"] or None,
        "desde": periodo[0] if len(periodo) > 0 else None,
        "ate": periodo[1] if len(periodo) > 1 else None,
        "busca": (s["f_busca"] or "").strip() or None,
        "condicao": problem_condition(s["f_problema"]) if s["f_problema"] else None,
    }


def rate(conversa_id: int, avaliacao: str | None) -> None:
    if not session_still_valid():  # a callback runs before any login check
        return
    try:
        with session_scope() as session:
            rate_conversation(session, conversa_id, avaliacao, current_user())
    except CuradoriaError as exc:
        st.session_state["erro_avaliacao"] = str(exc)


def go_to(pagina: int) -> None:
    st.session_state["pagina"] = max(1, pagina)


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


def render_card(conversa, sugestao=None, expandida: bool = False, prefixo: str = "") -> None:
    with st.container(border=True, key=f"{prefixo}card-{conversa.id}"):
        top, actions = st.columns([3, 2])
        with top:
            st.text(f"{conversa.cliente_nome} · {conversa.whatsapp}"
                    + (f" · {conversa.contato_nome}" if conversa.contato_nome else ""))
            st.caption(f"{when(conversa.iniciada_em)} · {plain(STATUS.get(conversa.status, conversa.status))}"
                       f" · {numero(conversa.total_mensagens)} mensagens · conversa #{conversa.id}")
            st.text(f"Modelo: {conversa.modelo_usado or '—'}")
            with st.container(key=f"{prefixo}badge-{conversa.id}"):
                badge(conversa.avaliacao)
            if conversa.avaliacao is None and (texto := suggestion_text(sugestao)):
                st.caption(texto + " — é só uma sugestão; a avaliação é sua.")
        with actions:
            b1, b2, b3 = st.columns(3)
            b1.button("Boa", key=f"{prefixo}boa-{conversa.id}", icon=":material/thumb_up:",
                      on_click=rate, args=(conversa.id, "boa"),
                      type="primary" if conversa.avaliacao == "boa" else "secondary")
            b2.button("Ruim", key=f"{prefixo}ruim-{conversa.id}", icon=":material/thumb_down:",
                      on_click=rate, args=(conversa.id, "ruim"),
                      type="primary" if conversa.avaliacao == "ruim" else "secondary")
            b3.button("Remover avaliação", key=f"{prefixo}sem-{conversa.id}", on_click=rate,
                      args=(conversa.id, None), disabled=conversa.avaliacao is None)
            if conversa.avaliado_em:
                st.caption(f"Avaliada por {plain(conversa.avaliado_por or '—')} "
                           f"em {when(conversa.avaliado_em)}")
        if conversa.trecho:
            st.markdown("…" + highlighted(conversa.trecho) + "…")
        for m in conversa.primeiras_mensagens:
            st.text(f"{'Cliente' if m.role == 'user' else 'Bot'}: {m.conteudo}")
        with st.expander("Ver conversa completa", expanded=expandida):
            with session_scope() as session:
                detalhe = get_conversation(session, conversa.id)
            render_messages(detalhe.mensagens)


@st.fragment
def results(filtros: dict) -> None:
    rerun_app_unless_logged_in()
    if erro := st.session_state.pop("erro_avaliacao", None):
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
    st.caption(f"{total} conversas · página {pagina.page} de {numero(pagina.pages)}")
    if filtros.get("busca") and (atraso := search_behind()):
        st.caption(f"Índice de busca atualizado até {when(atraso)}: mensagens gravadas depois "
                   "ainda não aparecem na busca.")
    if not pagina.conversas:
        st.info("Nenhuma conversa encontrada com esses filtros.")
        return
    with session_scope() as session:
        sugestoes = get_suggestions(session, [c.id for c in pagina.conversas])
    for conversa in pagina.conversas:
        render_card(conversa, sugestoes.get(conversa.id))
    prev, info, nxt = st.columns([1, 2, 1])
    prev.button("Anterior", icon=":material/chevron_left:", disabled=pagina.page <= 1,
                on_click=go_to, args=(pagina.page - 1,), key="pagina-anterior")
    info.caption(f"Página {pagina.page} de {numero(pagina.pages)}")
    nxt.button("Próxima", icon=":material/chevron_right:", disabled=pagina.page >= pagina.pages,
               on_click=go_to, args=(pagina.page + 1,), key="pagina-proxima")


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
    render_card(detalhe.conversa, sugestao, expandida=True, prefixo="link-")
    st.button("Fechar esta conversa", on_click=close_linked, key="fechar-link",
              icon=":material/close:")
    st.divider()


st.title("Todas as Conversas")
with session_scope() as session:
    clientes = list_clientes(session)
linked_conversation()
filtros = read_filters(clientes)
results(filtros)
