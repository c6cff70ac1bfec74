"""Visão geral, the start of the day: what waits for review per cliente, the ratings of
the last 7 days, who is ready for fine-tuning, the poller's health and the model warnings."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from core.db import session_scope
from core import formato
from core.finetune.choice import provider_label
from core.finetune.sunset import model_status_for_all
from core.poller.cycle import get_poller_status
from core.review.start_of_day import start_of_day
from pages.ui.common import numero, plain, require_login, when
from pages.ui.desligamento import render_shutdown_banner
from pages.ui.graficos import PALETA, mostrar, pt_br


def _endpoint_e_contingencia(m) -> str:
    """One line per cliente under the models table (long ids wrap here, not in a column)."""
    contingencia = "nenhuma"
    if m.contingencia:
        contingencia = plain(m.contingencia)
        if m.contingencia_endpoint:
            contingencia += f" ({plain(m.contingencia_endpoint)})"
    return (f"**{plain(m.nome)}**: endpoint {plain(m.endpoint or 'não informado')} · "
            f"contingência: {contingencia}")


require_login()  # before anything touches the database

st.title("Visão geral")
render_shutdown_banner()
with session_scope() as session:
    dia = start_of_day(session)
    poller = get_poller_status(session)
    modelos = model_status_for_all(session)

if poller is None:
    st.warning("O poller nunca rodou: as conversas novas não são importadas nem analisadas e "
               "os fine-tunings não são acompanhados até ele ser iniciado (`python poller.py`).",
               icon=":material/schedule:")
elif poller.atrasado():
    st.warning(f"Poller visto por último às {when(poller.visto_em)} — parece parado.",
               icon=":material/warning:")
else:
    st.success(f"Poller funcionando: visto por último às {when(poller.visto_em)}.",
               icon=":material/check_circle:")

if not dia.clientes:
    st.info("Ainda não há clientes. Cadastre um em Clientes, importe as conversas de um bot "
            "ou gere dados de demonstração com `python -m core demo`.")
    st.stop()

col1, col2, col3, col4 = st.columns(4)
col1.metric("Aguardando avaliação", numero(dia.aguardando))
col2.metric("Avaliações nos últimos 7 dias", numero(dia.avaliacoes_7_dias))
col3.metric("Prontos para fine-tuning", f"{dia.prontos} de {len(dia.clientes)}")
col4.metric("Conversas", numero(sum(c.conversas for c in dia.clientes)))

st.subheader("Por cliente")
# Short columns only, so that the table fits the page at 1366 px: what is missing for the
# fine-tuning is written out below it, the model ids in the next table.
st.dataframe(
    [
        {
            "Cliente": c.nome,
            "Conversas": c.conversas,
            "Aguardando avaliação": c.aguardando,
            "Revisar": f"conversas?cliente={c.slug}&avaliacao=sem",
            "Avaliações (7 dias)": c.avaliacoes_7_dias,
            "Boas": c.boas,
            "Ruins": c.ruins,
            "Fine-tuning": "Pronto" if c.prontidao.pronto else "Ainda não",
            "Progresso": c.prontidao.progresso,
            "Última mensagem": when(c.ultima_mensagem_em),
        }
        for c in dia.clientes
    ],
    column_config={
        "Aguardando avaliação": st.column_config.NumberColumn(
            "Aguardando", help="Conversas ainda sem avaliação"),
        "Revisar": st.column_config.LinkColumn(
            "Revisar", display_text="Abrir fila",
            help="As conversas sem avaliação deste cliente (abre em outra aba)"),
        "Avaliações (7 dias)": st.column_config.NumberColumn(
            "Em 7 dias", help="Avaliações feitas nos últimos 7 dias"),
        "Progresso": st.column_config.ProgressColumn(
            "Progresso", min_value=0.0, max_value=1.0, format="percent", width=110,
            help="Quanto falta para o fine-tuning (a condição menos adiantada)"),
        "Última mensagem": st.column_config.TextColumn("Última mensagem"),
    },
    hide_index=True,
    width="stretch",
    key="tabela_inicio_do_dia",
)
faltando = [f"**{plain(c.nome)}**: {plain(c.prontidao.motivo)}"
            for c in dia.clientes if not c.prontidao.pronto]
if faltando:
    st.caption("O que falta para o fine-tuning:  \n" + "  \n".join(faltando))

st.subheader("Avaliações por dia (últimos 7 dias)")
grafico = go.Figure(go.Bar(x=[f"{d:%d/%m}" for d, _ in dia.avaliacoes_por_dia],
                           y=[n for _, n in dia.avaliacoes_por_dia], marker_color=PALETA[0],
                           hovertemplate="%{x}: %{y:,d} avaliações<extra></extra>"))
grafico.update_layout(height=240, showlegend=False)
# Whole numbers on the axis, starting at zero, also on a week without ratings.
grafico.update_yaxes(tickformat=",d", rangemode="tozero", title_text="Avaliações",
                     range=None if any(n for _, n in dia.avaliacoes_por_dia) else [0, 1])
grafico.update_xaxes(type="category", title_text="Dia")
mostrar(pt_br(grafico), key="avaliacoes_por_dia")

st.subheader("Modelos em uso e desligamento")
# Model ids and endpoints are long: the table keeps the model id and short columns, the
# endpoints and contingency models are listed below it (text that wraps).
st.dataframe(
    [
        {
            "Cliente": m.nome,
            "Modelo em uso": m.modelo,
            "Provedor": provider_label(m.provedor),
            "Desligamento": formato.data(m.desligamento),
            "Dias restantes": m.dias_restantes,
        }
        for m in modelos
    ],
    hide_index=True,
    width="stretch",
    key="tabela_desligamento",
)
if modelos:
    st.caption("Endpoint e modelo de contingência de cada cliente:  \n"
               + "  \n".join(_endpoint_e_contingencia(m) for m in modelos))
