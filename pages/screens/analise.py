"""Análise de Treinamento: what the bots get wrong, what they answer well, readiness, charts."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.express as px
import streamlit as st

from core.review.analysis import PROBLEMAS, Filtro, conversa_url, get_analysis, list_analyses
from core.review.planilha import export_csv
from core.clientes.directory import list_clientes
from core.clock import local_day, utcnow
from core.config import get_settings
from core.db import session_scope
from pages.ui.common import chart_text, numero, plain, require_login
from pages.ui.rotulos import qualidade_da_deteccao
from pages.ui.graficos import CORES_AVALIACAO, ORDEM_AVALIACAO, PALETA, VERDE, VERMELHO, mostrar, pt_br

require_login()  # before anything touches the database

PERIODOS = {"Todo o período": None, "Últimos 7 dias": 7, "Últimos 30 dias": 30, "Últimos 90 dias": 90}
LIMITE_TABELA = 5000


@st.cache_data(ttl=60, show_spinner="Calculando a análise...")
def carregar(url: str, cliente_id, inicio, fim):
    with session_scope() as session:
        return get_analysis(session, Filtro(cliente_id, inicio, fim))


@st.cache_data(ttl=60, show_spinner=False)
def carregar_tabela(url: str, cliente_id, inicio, fim, problema):
    with session_scope() as session:
        return list_analyses(session, Filtro(cliente_id, inicio, fim), problema, LIMITE_TABELA)


def vezes(n: int) -> str:
    return f"{numero(n)} vez" if n == 1 else f"{numero(n)} vezes"


def chart_frame(rows: list[dict], column: str) -> pd.DataFrame:
    """A chart's data with its label column made literal for plotly."""
    frame = pd.DataFrame(rows)
    frame[column] = frame[column].map(chart_text)
    return frame


def links(ids: list[int]) -> str:
    return " ".join(f"[#{int(i)}]({conversa_url(i)})" for i in ids)


st.title("Análise de Treinamento")
with session_scope() as session:
    clientes = {c.nome: c.id for c in list_clientes(session)}
if not clientes:
    st.info("Ainda não há clientes. Importe as conversas de um bot ou gere dados de "
            "demonstração com `python -m core demo`.")
    st.stop()

col_cliente, col_periodo = st.columns(2)
nome = col_cliente.selectbox("Cliente", ["Todos os clientes", *clientes])
periodo = PERIODOS[col_periodo.selectbox("Período", list(PERIODOS))]
cliente_id = clientes.get(nome)
hoje = local_day(utcnow())
inicio = hoje - dt.timedelta(days=periodo) if periodo else None
url = get_settings().database_url
analise = carregar(url, cliente_id, inicio, None)
geral = analise.overview.geral

# --- Resumo geral ---------------------------------------------------------------------
st.subheader("Resumo geral")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Total de conversas", numero(geral.total))
c2.metric("Conversas boas", numero(geral.boas), f"{geral.percentual(geral.boas):.0f}%",
          delta_color="off", delta_arrow="off")
c3.metric("Conversas ruins", numero(geral.ruins), f"{geral.percentual(geral.ruins):.0f}%",
          delta_color="off", delta_arrow="off")
c4.metric("Sem avaliação", numero(geral.sem_avaliacao),
          f"{geral.percentual(geral.sem_avaliacao):.0f}%", delta_color="off", delta_arrow="off")
for resumo in analise.overview.clientes:
    if resumo.recomendacao:
        st.info(f"**{plain(resumo.nome)}** — Recomendação: {plain(resumo.recomendacao)}",
                icon=":material/lightbulb:")
if len(analise.overview.clientes) > 1:
    st.dataframe(pd.DataFrame([{
        "Cliente": r.nome, "Total": r.total,
        "Boas": f"{numero(r.boas)} ({r.percentual(r.boas):.0f}%)",
        "Ruins": f"{numero(r.ruins)} ({r.percentual(r.ruins):.0f}%)",
        "Sem avaliação": f"{numero(r.sem_avaliacao)} ({r.percentual(r.sem_avaliacao):.0f}%)",
    } for r in analise.overview.clientes]), hide_index=True, width="stretch")
if analise.pendentes:
    st.caption(f"{numero(analise.pendentes)} conversas novas ou alteradas aguardando análise "
               "(o poller analisa a cada ciclo; ou rode `python -m core analyze`).")

# --- Problemas e tópicos ----------------------------------------------------------------
esquerda, direita = st.columns(2)
with esquerda:
    st.subheader("Problemas mais comuns")
    st.caption("Detectados automaticamente nas conversas avaliadas como ruins.")
    if not analise.problemas:
        st.write("Nenhum problema encontrado nas conversas ruins.")
    for p in analise.problemas:
        st.markdown(f"- **{plain(p.rotulo)}** ({vezes(p.vezes)}) — exemplos: {links(p.exemplos)}")
with direita:
    st.subheader("Tópicos mais bem respondidos")
    st.caption("O que os clientes perguntaram nas conversas avaliadas como boas.")
    topicos = analise.topicos.topicos
    if not topicos:
        st.write("Ainda não há conversas boas analisadas.")
    else:
        # Topic and count in the table (it fits the half page); the example questions,
        # long free text, as a list that wraps.
        st.dataframe(pd.DataFrame([{
            "Tópico": t.rotulo + ("" if t.conhecido else " (novo)"), "Vezes": t.vezes,
        } for t in topicos[:15]]), hide_index=True, width="stretch")
        with st.expander("Exemplos de perguntas por tópico"):
            st.markdown("\n".join(
                f"- **{plain(t.rotulo)}**: " + " · ".join(f"“{plain(q)}”" for _, q in t.exemplos)
                for t in topicos[:15]))
    if analise.topicos.sem_topico:
        st.caption(f"{numero(analise.topicos.sem_topico)} perguntas fora dos tópicos conhecidos; "
                   f"as {numero(analise.topicos.agrupadas)} mais recentes foram agrupadas "
                   "automaticamente (marcadas como novo).")

qualidade_da_deteccao(cliente_id)

# --- Fine-tuning readiness ----------------------------------------------------------------
st.subheader("Fine-tuning")
for resumo in analise.overview.clientes:
    pronto = analise.overview.prontidao[resumo.cliente_id]
    st.markdown(f"**{plain(resumo.nome)}** — marcadas {pronto.marcadas} de {pronto.min_marcadas}, "
                f"boas {pronto.boas} de {pronto.min_boas}, ruins {pronto.ruins} de {pronto.min_ruins}")
    st.progress(pronto.progresso, text=f"Progresso: {pronto.progresso:.0%}")
    if pronto.pronto:
        st.success("Pronto para iniciar o fine-tuning.", icon=":material/check_circle:")
    else:
        st.warning(plain(pronto.motivo), icon=":material/warning:")

# --- Gráficos ---------------------------------------------------------------------------
st.subheader("Gráficos")
series = analise.series
abas = st.tabs(["Conversas por dia", "Avaliações", "% ruins por cliente", "Problemas", "Tópicos"])
with abas[0]:
    if series.conversas_por_dia:
        mostrar(pt_br(px.line(chart_frame(series.conversas_por_dia, "cliente"), x="dia", y="conversas",
                              color="cliente", color_discrete_sequence=PALETA,
                              labels={"dia": "Dia", "conversas": "Conversas", "cliente": "Cliente"}),
                      datas=True))
with abas[1]:
    if series.avaliacoes_por_dia:
        mostrar(pt_br(px.bar(pd.DataFrame(series.avaliacoes_por_dia), x="dia", y="conversas",
                             color="avaliacao", color_discrete_map=CORES_AVALIACAO,
                             category_orders={"avaliacao": ORDEM_AVALIACAO},
                             labels={"dia": "Dia", "conversas": "Conversas", "avaliacao": "Avaliação"}),
                      datas=True))
with abas[2]:
    ruins = pd.DataFrame([{"cliente": chart_text(r.nome), "ruins": round(r.percentual_ruins_avaliadas, 1)}
                          for r in analise.overview.clientes])
    mostrar(pt_br(px.bar(ruins, x="cliente", y="ruins", color_discrete_sequence=[VERMELHO],
                         labels={"cliente": "Cliente", "ruins": "Ruins entre as avaliadas (%)"}),
                  percentual_y=True))
with abas[3]:
    st.caption("Problemas detectados por dia em todas as conversas (avaliadas ou não).")
    if series.problemas_por_dia:
        mostrar(pt_br(px.line(chart_frame(series.problemas_por_dia, "problema"), x="dia", y="conversas",
                              color="problema", color_discrete_sequence=PALETA,
                              labels={"dia": "Dia", "conversas": "Conversas", "problema": "Problema"}),
                      datas=True))
with abas[4]:
    if topicos:
        mostrar(pt_br(px.bar(pd.DataFrame([{"topico": chart_text(t.rotulo), "vezes": t.vezes}
                                           for t in topicos[:15]]),
                             x="vezes", y="topico", orientation="h", color_discrete_sequence=[VERDE],
                             labels={"topico": "Tópico", "vezes": "Conversas boas"})))

# --- Tabela filtrada ------------------------------------------------------------------------
st.subheader("Conversas analisadas")
rotulos = {"Todos os problemas": None, **{v: k for k, v in PROBLEMAS.items()}}
problema = rotulos[st.selectbox("Problema", list(rotulos))]
linhas = carregar_tabela(url, cliente_id, inicio, None, problema)
st.caption(f"{numero(len(linhas))} conversas (as {numero(LIMITE_TABELA)} mais recentes, no máximo).")
st.dataframe(
    pd.DataFrame(linhas, columns=["link", "conversa", "cliente", "dia", "avaliacao",
                                  "avaliacao_sugerida", "problemas", "topico", "pergunta"]),
    hide_index=True, width="stretch",
    # Narrow columns, so that the table fits the page at 1366 px: the link shows the
    # conversa's number, the cliente only when all of them are listed.
    column_config={
        "link": st.column_config.LinkColumn("Conversa", display_text=r"conversa=(\d+)", width=75,
                                            help="Abre a conversa"),
        "conversa": None,
        "cliente": None if cliente_id else st.column_config.TextColumn("Cliente", width=150),
        "dia": st.column_config.DateColumn("Dia", format="DD/MM/YYYY", width=90),
        "avaliacao": st.column_config.TextColumn("Avaliação", width=80),
        "avaliacao_sugerida": st.column_config.TextColumn(
            "Sugestão", width=80, help="Sugerida pela análise automática; não é uma avaliação"),
        "problemas": st.column_config.TextColumn("Problemas", width=125),
        "topico": st.column_config.TextColumn("Tópico", width=155),
        "pergunta": st.column_config.TextColumn("Pergunta do cliente", width=140),
    },
)
st.download_button("Baixar CSV", export_csv(linhas), file_name="analise_conversas.csv",
                   mime="text/csv", icon=":material/download:")
