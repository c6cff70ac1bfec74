"""Live progress of a fine-tuning job: a fragment that refreshes itself.

The Fine-tuning page calls `render_job_progress(job_id)`; only the fragment reruns
(every `intervalo` seconds) while the job is pending or running.
"""
from __future__ import annotations

import streamlit as st

from core import formato
from core.db import session_scope
from core.errors import CuradoriaError
from core.finetune.follow import get_job_progress
from pages.ui.common import plain, rerun_app_unless_logged_in, show_error, when

STATUS_PT = {
    "pending": "Na fila",
    "running": "Treinando",
    "succeeded": "Concluído",
    "failed": "Falhou",
    "cancelled": "Cancelado",
}


def render_job_progress(job_id: int, intervalo: int = 15) -> None:
    """The job's status, a progress bar and the estimated finish, kept fresh."""

    @st.fragment(run_every=intervalo)
    def _progress() -> None:
        rerun_app_unless_logged_in()
        try:
            with session_scope() as session:
                job = get_job_progress(session, job_id)
        except CuradoriaError as exc:
            show_error(exc)
            return
        rotulo = STATUS_PT.get(job.status, job.status)
        provedor = formato.status_provedor(job.status_provedor)
        if job.status_provedor and job.aberto and provedor.lower() != rotulo.lower():
            rotulo += f" ({provedor})"  # the provider's step, in words ("validando arquivos")
        st.progress((job.progresso or 0) / 100, text=f"{plain(rotulo)} — {job.progresso or 0}%")
        if job.aberto:
            st.caption(f"Previsão de conclusão: {when(job.previsao_conclusao)} · "
                       f"verificado pelo poller em {when(job.verificado_em)}")
            if job.ultimo_erro_transitorio:
                st.caption(f"Última falha passageira do provedor: {plain(job.ultimo_erro_transitorio)}")
        elif job.status == "succeeded":
            st.success(f"Modelo em uso: {plain(job.modelo_fine_tuned)}", icon=":material/check_circle:")
        else:
            st.error(plain(job.erro or "O job não terminou."), icon=":material/error:")

    _progress()
