"""Avaliação de modelos: a new model next to the model in use on held-out conversas (the
examples that got worse first, then the better ones), its scores and cost, and the
admin's Aprovar / Rejeitar for a model waiting for approval.

Every answer (the models', the curated one, the judge's reason) is shown with st.text:
plain text, never markdown or HTML.
"""
from __future__ import annotations

import streamlit as st

from core import formato
from core.db import get_engine, session_scope
from core.errors import CuradoriaError
from core.finetune import gate
from core.finetune.comparison import (
    DECISAO_LABELS,
    MUDANCA_LABELS,
    awaiting_approval,
    comparison,
    list_evaluation_items,
)
from core.finetune.jobs import format_usd
from pages.ui.common import current_user, require_login, session_still_valid, show_error, when

require_login()  # before anything touches the database

TOAST_KEY = "aval_toast"
FILTROS = {"Todos": None, "Pioraram": "piorou", "Melhoraram": "melhorou", "Iguais": "igual"}


def decidir(job_id: int, aprovar: bool) -> None:
    """Button callback: the decision through core; the outcome as a toast."""
    if not session_still_valid():  # a callback runs before any login check
        return
    try:
        if aprovar:
            decision = gate.approve(get_engine(), job_id, usuario=current_user())
            texto = ("Modelo novo aprovado: já está em uso pelo bot." if decision.acao == "aplicado"
                     else "O modelo novo já estava em uso.")
        else:
            gate.reject(get_engine(), job_id, usuario=current_user())
            texto = "Modelo novo rejeitado: o bot continua com o modelo atual."
    except CuradoriaError as exc:
        st.session_state[TOAST_KEY] = f"Erro: {exc}"
        return
    st.session_state[TOAST_KEY] = f"Job #{job_id}: {texto}"


def botoes(job_id: int, chave: str) -> None:
    col1, col2, _ = st.columns([1, 1, 4])
    col1.button("Aprovar", key=f"aprovar_{chave}", type="primary", icon=":material/check:",
                on_click=decidir, args=(job_id, True), width="stretch")
    col2.button("Rejeitar", key=f"rejeitar_{chave}", icon=":material/close:",
                on_click=decidir, args=(job_id, False), width="stretch")


def lado(resumo: dict, nome: str) -> str:
    side = resumo.get(nome) or {}
    return (f"{side.get('respostas_com_problema', 0)} de {side.get('respondidos', 0)} respostas "
            f"com problema · chrF médio {formato.decimal(side.get('chrf_medio'))} · "
            f"custo {format_usd(side.get('custo_usd'))}")


require_login()
st.title("Avaliação de modelos")
if TOAST_KEY in st.session_state:
    st.toast(st.session_state.pop(TOAST_KEY), icon=":material/fact_check:")
st.caption("Antes de atender os clientes, cada modelo novo responde às conversas separadas do "
           "treino ao lado do modelo em uso. Um modelo pior fica aguardando aprovação.")

try:
    with session_scope() as session:
        aguardando = awaiting_approval(session)
        items = list_evaluation_items(session)
except CuradoriaError as exc:
    show_error(exc)
    st.stop()

for job in (j for j in aguardando if j.avaliacao_id is None):
    with st.container(border=True):
        st.warning(f"Job #{job.job_id} ({job.cliente_nome}): modelo novo aguardando aprovação, "
                   "sem avaliação.", icon=":material/pending:")
        st.text(job.motivo or "")
        botoes(job.job_id, f"sem_{job.job_id}")

if not items:
    st.info("Nenhuma avaliação de modelo ainda.")
    st.stop()

ids = [i.avaliacao.id for i in items]
pedida = st.query_params.get("avaliacao")
inicio = ids.index(int(pedida)) if pedida and pedida.isdigit() and int(pedida) in ids else 0
rotulos = {i.avaliacao.id: (f"#{i.avaliacao.id} · job #{i.avaliacao.fine_tuning_job_id} · "
                            f"{i.cliente_nome} · "
                            f"{DECISAO_LABELS.get(i.avaliacao.decisao, i.avaliacao.status)}")
           for i in items}
escolhida = st.selectbox("Avaliação", ids, index=inicio, format_func=rotulos.get,
                         key="aval_escolhida")

try:
    with session_scope() as session:
        item, rows = comparison(session, escolhida)
except CuradoriaError as exc:
    show_error(exc)
    st.stop()

ev, resumo = item.avaliacao, item.avaliacao.resumo or {}
with st.container(border=True):
    st.text(f"Cliente: {item.cliente_nome} · job #{ev.fine_tuning_job_id} · "
            f"{ev.exemplos} conversas separadas do treino\n"
            f"Modelo novo: {ev.modelo_candidato}\nModelo atual: {ev.modelo_atual}"
            + (f"\nJuiz: {ev.modelo_juiz}" if ev.modelo_juiz else "")
            + f"\nCriada por {ev.criada_por or '—'} em {when(ev.criada_em)} · situação: "
            f"{formato.status_provedor(ev.status)}"
            + (f" · decisão: {DECISAO_LABELS.get(ev.decisao, ev.decisao)}" if ev.decisao else "")
            + (f" por {ev.decidida_por} em {when(ev.decidida_em)}" if ev.decidida_por else ""))
    if ev.erro:
        st.text(f"Erro: {ev.erro}")
    st.text(f"Modelo novo: {lado(resumo, 'candidato')}\n"
            f"Modelo atual: {lado(resumo, 'atual')}")
    juiz = resumo.get("juiz")
    if juiz:
        st.text(f"Juiz: o novo venceu {juiz['vitorias']}, o atual {juiz['derrotas']}, "
                f"{juiz['empates']} empates (taxa de vitória {formato.percentual(juiz['taxa_vitoria'])})")
    c1, c2, c3 = st.columns(3)
    c1.metric("Pioraram", resumo.get("piorou", 0))
    c2.metric("Melhoraram", resumo.get("melhorou", 0))
    c3.metric("Custo da avaliação", format_usd(ev.custo_usd))
    if item.pode_decidir:
        st.warning("Este modelo aguarda a sua decisão.", icon=":material/pending:")
        botoes(ev.fine_tuning_job_id, f"av_{ev.id}")

filtro = st.radio("Mostrar", list(FILTROS), horizontal=True, key="aval_filtro")
mostrar = [r for r in rows if FILTROS[filtro] in (None, r.mudanca)]
st.caption(f"{len(mostrar)} de {len(rows)} exemplos (os que pioraram primeiro)")
for r in mostrar:
    with st.container(border=True):
        problemas = ", ".join(r.problemas_candidato) or "nenhum"
        st.text(f"{MUDANCA_LABELS[r.mudanca]} · linha {r.linha} do arquivo de validação · "
                f"chrF novo {r.chrf_candidato if r.chrf_candidato is not None else '—'}, "
                f"atual {r.chrf_atual if r.chrf_atual is not None else '—'} · "
                f"problemas do novo: {problemas}")
        st.text(f"Cliente: {r.pergunta}")
        novo, atual, curada = st.columns(3)
        novo.caption("Modelo novo")
        novo.text(r.resposta_candidato if r.resposta_candidato is not None else "—")
        atual.caption("Modelo atual")
        atual.text(r.resposta_atual if r.resposta_atual is not None else "—")
        curada.caption("Resposta curada")
        curada.text(r.resposta_curada)
        motivos = [m for m in (r.juiz or {}).get("motivos") or [] if m]
        if motivos:
            st.text("Juiz: " + " / ".join(motivos))
