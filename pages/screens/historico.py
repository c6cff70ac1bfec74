"""Histórico: every fine-tuning job, filtered by cliente and status (seed C4 item 5)."""
from __future__ import annotations

import streamlit as st

from core.clientes.directory import list_clientes
from core.db import session_scope
from core.finetune.jobs import STATUS_LABELS, format_brl, list_jobs
from pages.ui.common import require_login, when

require_login()  # before anything touches the database

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

if not jobs:
    st.info("Nenhum job de fine-tuning com esses filtros.")
    st.stop()

st.caption(f"{len(jobs)} job(s)")
st.dataframe(
    [
        {
            "Job": j.id,
            "Cliente": j.cliente_nome,
            "Status": j.status_label + (f" ({j.progresso}%)" if j.status == "running"
                                        and j.progresso is not None else ""),
            "Conversas usadas": j.conversas_usadas,
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
