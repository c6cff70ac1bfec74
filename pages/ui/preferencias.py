"""The preference (DPO) file on the Dados de treino page: build, report, preview, download.

One row per correction (core.training.preference): the conversation before the corrected
bot answer, the correction as the preferred answer and the bot's as the other one,
redacted like the training file. Texts are shown with st.text (never markdown).
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import streamlit as st

from core.db import session_scope
from core.errors import CuradoriaError
from core.training.preference import MOTIVOS_DPO, export_preferences
from pages.ui.common import numero, show_checks, show_error

REPORT_KEY = "dados_treino_dpo"
PREVIEW_ROWS = 3


def render_preference_file(cliente) -> None:
    st.subheader("Arquivo de preferências (DPO)")
    st.caption("Uma linha por resposta do bot corrigida em Todas as Conversas: a conversa até "
               "ali, a correção como resposta preferida e a do bot como não preferida.")
    if st.button("Gerar arquivo de preferências", icon=":material/compare_arrows:",
                 key="gerar-dpo"):
        try:
            with session_scope() as session:
                out = Path(tempfile.mkdtemp(prefix="curadoria-dpo-")) / f"{cliente.slug}-dpo.jsonl"
                st.session_state[REPORT_KEY] = (cliente.id, export_preferences(session, cliente.slug, out))
        except CuradoriaError as exc:
            show_error(exc)
    guardado = st.session_state.get(REPORT_KEY)
    if not guardado or guardado[0] != cliente.id:
        return
    report = guardado[1]
    show_checks(report, "O arquivo de preferências passa na validação.")
    c1, c2, c3 = st.columns(3)
    c1.metric("Exemplos de preferência", numero(report.exemplos))
    c2.metric("Conversas corrigidas", numero(report.conversas))
    c3.metric("Correções puladas", numero(sum(report.puladas.values())))
    if report.puladas:
        st.dataframe([{"Motivo": MOTIVOS_DPO.get(k, k), "Correções": v} for k, v in report.puladas.items()],
                     hide_index=True)
    data = report.path.read_bytes() if report.path.exists() else b""
    for n, line in enumerate(data.decode("utf-8").splitlines()[:PREVIEW_ROWS], start=1):
        row = json.loads(line)
        with st.container(border=True, key=f"dpo-previa-{n}"):
            ultima = row["input"]["messages"][-1]["content"]
            st.text(f"Cliente: {ultima}")
            esquerda, direita = st.columns(2)
            esquerda.text(f"Preferida: {row['preferred_output'][0]['content']}")
            direita.text(f"Não preferida: {row['non_preferred_output'][0]['content']}")
    if data:
        st.download_button("Baixar preferências (JSONL)", data, file_name=f"{cliente.slug}-dpo.jsonl",
                           mime="application/jsonl", icon=":material/download:", key="baixar-dpo")
