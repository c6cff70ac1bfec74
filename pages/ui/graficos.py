"""Charts in pt-BR, the same on every page: decimal comma and '.' thousands, dates as
DD/MM (DD/MM/AAAA on hover), '%' on percentage axes, a legend above the plot, and the
colours of the ratings meaning what they say (boa green, ruim red, sem avaliação grey).

Plotly's own 'pt-BR' locale needs a locale script Streamlit's bundled plotly.js does not
load; everything here is set on the figure, server side, so it works offline and the
browser console stays quiet.
"""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

# The ratings' colours (also the labels core.review.analysis.AVALIACAO_ROTULO gives them).
VERDE, VERMELHO, CINZA = "#2e7d32", "#c62828", "#9e9e9e"
CORES_AVALIACAO = {"Boa": VERDE, "Ruim": VERMELHO, "Sem avaliação": CINZA,
                   "boa": VERDE, "ruim": VERMELHO, "sem": CINZA}
ORDEM_AVALIACAO = ["Boa", "Ruim", "Sem avaliação"]
# Per-series colours where the series are not ratings (clientes, problems): none of them
# green, red or grey, so that no series reads as a rating.
PALETA = ["#1565c0", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#f9a825", "#283593"]


def pt_br(fig: go.Figure, *, datas: bool = False, percentual_y: bool = False,
          percentual_x: bool = False) -> go.Figure:
    """The figure in pt-BR: separators, date ticks, '%' suffixes, a readable legend."""
    fig.update_layout(
        separators=",.",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0, title_text=""),
        margin=dict(t=40, r=10, b=10, l=10),
        hoverlabel=dict(namelength=-1),
    )
    if datas:
        fig.update_xaxes(tickformat="%d/%m", hoverformat="%d/%m/%Y", title_text="Dia")
    if percentual_y:
        fig.update_yaxes(ticksuffix="%", rangemode="tozero")
    if percentual_x:
        fig.update_xaxes(ticksuffix="%", rangemode="tozero")
    return fig


def mostrar(fig: go.Figure, key: str | None = None) -> None:
    """Render a chart at the container's width, without Plotly's toolbar logo."""
    st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False})
