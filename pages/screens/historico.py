"""Histórico: every fine-tuning job, filtered by cliente and status (seed C4 item 5), the
evaluations of new models, and who rated how many conversas (per admin and day)."""
from __future__ import annotations

import streamlit as st

from core import formato
from core.clientes.directory import list_clientes
from core.db import session_scope
from core.finetune.comparison import DECISAO_LABELS, list_evaluation_items
from core.finetune.jobs import STATUS_LABELS, format_brl, format_usd, list_jobs
from pages.ui.common import require_login, when
from pages.ui.historico_avaliacoes import admin_ratings

require_login()  # before anything touches the database

AVALIACAO_PAGE = "pages/screens/avaliacao_modelos.py"


def avaliacoes(cliente_id: int | None) -> None:
    """Every evaluation of a new model: who, when, models, scores, decision."""
    with session_scope() as session:
        items = list_evaluation_items(session, cliente_id=cliente_id)
    st.subheader("Avaliações de modelos")
    if not items:
        st.caption("Nenhuma avaliação de modelo com esses filtros.")
        return
    linhas = []
    for item in items:
        ev, resumo = item.avaliacao, item.avaliacao.resumo or {}
        novo, atual = resumo.get("candidato") or {}, resumo.get("atual") or {}
        juiz = resumo.get("juiz") or {}
        linhas.append({
            "Avaliação": ev.id, "Job": ev.fine_tuning_job_id, "Cliente": item.cliente_nome,
            "Criada por": ev.criada_por or "—", "Em": when(ev.criada_em),
            "Modelo novo": ev.modelo_candidato, "Modelo atual": ev.modelo_atual,
            "Exemplos": ev.exemplos,
            "Problemas (novo / atual)": f"{novo.get('respostas_com_problema', '—')} / "
                                        f"{atual.get('respostas_com_problema', '—')}",
            "chrF (novo / atual)": f"{formato.decimal(novo.get('chrf_medio'))} / "
                                   f"{formato.decimal(atual.get('chrf_medio'))}",
            "Vitórias do novo": formato.percentual(juiz.get("taxa_vitoria")),
            "Custo": format_usd(ev.custo_usd),
            "Situação": formato.status_provedor(ev.status),
            "Decisão": DECISAO_LABELS.get(ev.decisao, "—") if ev.decisao else "—",
            "Decidida por": ev.decidida_por or "—",
        })
    st.dataframe(linhas, hide_index=True, width="stretch")
    if any(i.pode_decidir for i in items):
        st.warning("Há modelo novo aguardando aprovação.", icon=":material/pending:")
    st.page_link(AVALIACAO_PAGE, label="Ver as respostas lado a lado e aprovar ou rejeitar",
                 icon=":material/fact_check:")

st.title("Histórico")

with session_scope() as session:
    clientes = {c.id: c.nome for c in list_clientes(session)}

col1, col2 = st.columns(2)
cliente_id = col1.selectbox("Cliente", [None, *clientes], key="hist_cliente",
                            format_func=lambda cid: "Todos" if cid is None else clientes[cid])
status = col2.selectbox("Status", [None, *STATUS_LABELS], key="hist_status",
                        format_func=lambda s: "Todos" if s is None else STATUS_LABELS[s])

with session_scope() as session:
    jobs = list_jobs(session, cliente_id=cliente_id, status=status)


def jobs_table(jobs) -> None:
    st.caption(formato.plural(len(jobs), "job"))
    st.dataframe(
        [
            {
                "Job": j.id,
                "Cliente": j.cliente_nome,
                "Status": j.status_label + (f" ({j.progresso}%)" if j.status == "running"
                                            and j.progresso is not None else "")
                          + (" — aguardando aprovação" if j.aguardando_aprovacao else ""),
                "Conversas usadas": j.conversas_usadas,
                "Método": "DPO (correções)" if j.metodo == "dpo" else "Supervisionado",
                "Modelo": j.modelo_fine_tuned or j.modelo_base,
                "Custo": format_brl(j.custo_real if j.custo_real is not None else j.custo_estimado),
                "Criado em": when(j.created_at),
                "Concluído em": when(j.completed_at),
                "Iniciado por": j.iniciado_por or "—",
                "Erro": j.erro or "",
            }
            for j in jobs
        ],
        hide_index=True,
        width="stretch",
    )


if jobs:
    jobs_table(jobs)
else:
    st.info("Nenhum job de fine-tuning com esses filtros.")
avaliacoes(cliente_id)
admin_ratings(cliente_id)
