"""Visão geral: per cliente, how many conversas, how many rated, the last message."""
from __future__ import annotations

import streamlit as st

from core.clientes.directory import summarize_clientes
from core.db import session_scope
from core import formato
from core.finetune.choice import provider_label
from core.finetune.sunset import model_status_for_all
from pages.ui.common import numero, require_login, when
from pages.ui.desligamento import render_shutdown_banner

require_login()  # before anything touches the database

st.title("Visão geral")
render_shutdown_banner()
with session_scope() as session:
    resumo = summarize_clientes(session)
    modelos = model_status_for_all(session)

if not resumo:
    st.info("Ainda não há clientes. Importe as conversas de um bot ou gere dados de "
            "demonstração com `python -m core demo`.")
    st.stop()

total = sum(r.conversas for r in resumo)
avaliadas = sum(r.avaliadas for r in resumo)
col1, col2, col3 = st.columns(3)
col1.metric("Conversas", numero(total))
col2.metric("Avaliadas", numero(avaliadas))
col3.metric("Clientes", len(resumo))

st.dataframe(
    [
        {
            "Cliente": r.nome,
            "Conversas": r.conversas,
            "Avaliadas": r.avaliadas,
            "Boas": r.boas,
            "Ruins": r.ruins,
            "Última mensagem": when(r.ultima_mensagem_em),
            "Modelo em uso": r.modelo_em_uso,
        }
        for r in resumo
    ],
    hide_index=True,
    width="stretch",
)

st.subheader("Modelos em uso e desligamento")
st.dataframe(
    [
        {
            "Cliente": m.nome,
            "Modelo em uso": m.modelo,
            "Provedor": provider_label(m.provedor),
            "Endpoint": m.endpoint or "—",
            "Desligamento": formato.data(m.desligamento),
            "Dias restantes": m.dias_restantes,
            "Contingência": m.contingencia or "—",
        }
        for m in modelos
    ],
    hide_index=True,
    width="stretch",
    key="tabela_desligamento",
    column_config={"Provedor": st.column_config.TextColumn("Provedor", width="small"),
                   "Dias restantes": st.column_config.NumberColumn("Dias restantes", width="small")},
)
