"""Who rated what: one conversa's rating history, and ratings per admin and day."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from core.clock import local_day, utcnow
from core.db import session_scope
from core.review.ratings import ratings_by_admin
from pages.ui.common import numero, when

ROTULO = {"boa": "Boa", "ruim": "Ruim", None: "Sem avaliação"}


def history_line(h) -> str:
    """'03/12/2026 14:05 · ana · Sem avaliação → Boa · motivo: ... · etiquetas: a, b'."""
    partes = [when(h.avaliado_em), h.avaliado_por or "—",
              f"{ROTULO.get(h.anterior, h.anterior)} → {ROTULO.get(h.nova, h.nova)}"]
    if h.motivo:
        partes.append(f"motivo: {h.motivo}")
    if h.tags:
        partes.append("etiquetas: " + ", ".join(h.tags))
    return " · ".join(partes)


def history_table(historico) -> None:
    """Every change of one conversa's rating, newest first (from the audit trail), as
    plain text lines (names and reasons are typed by people)."""
    if not historico:
        st.caption("Nenhuma avaliação registrada.")
        return
    st.text("\n".join(history_line(h) for h in historico))


def percent(valor: float | None) -> str:
    return "—" if valor is None else f"{valor * 100:.0f}%".replace(".", ",")


def admin_ratings(cliente_id: int | None = None, dias: int = 30) -> None:
    """Ratings per admin and day over the last `dias` days (of one cliente's conversas, or
    all), with the agreement with the analysis' suggestion (among conversas the analysis
    had an opinion on)."""
    st.subheader("Avaliações por administrador")
    hoje = local_day(utcnow())
    periodo = st.columns(3)[0].selectbox(
        "Período", [7, 30, 90], index=[7, 30, 90].index(dias), key="hist_aval_dias",
        format_func=lambda d: f"Últimos {d} dias")
    with session_scope() as session:
        linhas = ratings_by_admin(session, hoje - dt.timedelta(days=periodo - 1), hoje,
                                  cliente_id=cliente_id)
    if not linhas:
        st.caption("Nenhuma avaliação nesse período.")
        return
    totais: dict[str, list[int]] = {}
    for linha in linhas:
        t = totais.setdefault(linha.usuario, [0, 0, 0])
        t[0] += linha.avaliacoes
        t[1] += linha.com_sugestao
        t[2] += linha.concordam
    st.dataframe([
        {"Administrador": usuario, "Avaliações": numero(t[0]),
         "Concordância com a sugestão": percent(t[2] / t[1] if t[1] else None),
         "Com sugestão": numero(t[1])}
        for usuario, t in sorted(totais.items())
    ], hide_index=True, width="stretch")
    st.caption("Concordância: entre as conversas em que a análise sugeriu uma avaliação, "
               "a parte em que o administrador avaliou igual.")
    st.dataframe([
        {"Dia": linha.dia.strftime("%d/%m/%Y"), "Administrador": linha.usuario,
         "Avaliações": linha.avaliacoes, "Boas": linha.boas, "Ruins": linha.ruins,
         "Concordância com a sugestão": percent(linha.concordancia)}
        for linha in linhas
    ], hide_index=True, width="stretch")
