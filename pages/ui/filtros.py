"""The conversation filters shared by Todas as Conversas and Revisar.

Both screens use the same widget keys and the same URL parameters, so the filters chosen
on one screen carry over to the other and a view can be shared as a link.
"""
from __future__ import annotations

import datetime as dt

import streamlit as st

from core.review.analysis import PROBLEMAS, problem_condition

STATUS = {"ativa": "Ativa", "finalizada": "Finalizada", "aguardando": "Aguardando"}
AVALIACOES = {"boa": "Boa", "ruim": "Ruim", "sem": "Sem avaliação"}
TODOS = ""
PARAMS = ("cliente", "status", "avaliacao", "problema", "desde", "ate", "q", "pagina")


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


def filter_values() -> dict[str, str]:
    """The filters in use as URL parameters (without the page)."""
    s = st.session_state
    periodo = _periodo()
    values = {
        "cliente": s.get("f_cliente"), "status": s.get("f_status"),
        "avaliacao": s.get("f_avaliacao"), "problema": s.get("f_problema"),
        "desde": periodo[0].isoformat() if len(periodo) > 0 else None,
        "ate": periodo[1].isoformat() if len(periodo) > 1 else None,
        "q": (s.get("f_busca") or "").strip(),
    }
    return {k: v for k, v in values.items() if v}


def sync_url(com_pagina: bool = True) -> None:
    """Write the current filters (and page) to the URL (only the ones in use)."""
    wanted = filter_values()
    pagina = st.session_state.get("pagina", 1)
    if com_pagina and pagina > 1:
        wanted["pagina"] = str(pagina)
    for key in PARAMS:
        if key not in wanted and key in st.query_params:
            del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def read_filters(clientes, on_change=reset_page) -> dict:
    """The filter widgets; returns list_conversations' keyword arguments."""
    slugs = {c.slug: c for c in clientes}
    init_state(list(slugs))
    col1, col2, col3, col4 = st.columns([2, 1.3, 1.3, 2])
    col1.selectbox("Cliente", [TODOS, *slugs], key="f_cliente", on_change=on_change,
                   format_func=lambda s: slugs[s].nome if s else "Todos os clientes")
    col2.selectbox("Status", [TODOS, *STATUS], key="f_status", on_change=on_change,
                   format_func=lambda s: STATUS.get(s, "Todos"))
    col3.selectbox("Avaliação", [TODOS, *AVALIACOES], key="f_avaliacao", on_change=on_change,
                   format_func=lambda s: AVALIACOES.get(s, "Todas"))
    col4.date_input("Período", key="f_periodo", on_change=on_change, format="DD/MM/YYYY")
    col5, col6 = st.columns([4, 2])
    col5.text_input("Buscar nas mensagens", key="f_busca", on_change=on_change,
                    placeholder="Ex.: entrega atrasada, reembolso, troca de tamanho")
    col6.selectbox("Problema detectado", [TODOS, *PROBLEMAS], key="f_problema",
                   on_change=on_change, format_func=lambda c: PROBLEMAS.get(c, "Qualquer um"),
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
