"""Fine-tuning: readiness per cliente, and the confirmed start of a job (seed C4 1-4)."""
from __future__ import annotations

import streamlit as st

from core.db import get_engine, session_scope
from core.errors import CuradoriaError
from core.finetune.comparison import awaiting_approval
from core.finetune.jobs import format_brl, format_usd, summarize_fine_tuning
from core.finetune.start import methods_for, preview_fine_tuning, start_fine_tuning
from pages.ui.common import current_user, numero, plain, require_login, show_error, when
from pages.ui.desligamento import render_shutdown_banner
from pages.ui.progresso import render_job_progress

require_login()  # before anything touches the database

PREVIEW_KEY = "ft_preview"
DIALOG_KEY = "ft_dialogo"
TOAST_KEY = "ft_toast"
METODO_KEY = "ft_metodo"
METODOS = {"sft": "Supervisionado (conversas boas)",
           "dpo": "Preferências — DPO (respostas corrigidas)"}


def abrir(cliente_id: int) -> None:
    st.session_state[DIALOG_KEY] = cliente_id
    st.session_state.pop(PREVIEW_KEY, None)


def fechar() -> None:
    st.session_state.pop(DIALOG_KEY, None)
    st.session_state.pop(PREVIEW_KEY, None)
    st.session_state.pop(METODO_KEY, None)


@st.dialog("Iniciar Fine-tuning?", on_dismiss=fechar)
def confirmar(cliente_id: int) -> None:
    with session_scope() as session:
        metodos = methods_for(session, cliente_id)
    metodo = "sft"
    if len(metodos) > 1:  # the provider also trains on the corrections (preference pairs)
        metodo = st.radio("Método de treino", metodos, key=METODO_KEY, horizontal=True,
                          format_func=lambda m: METODOS.get(m, m))
    preview = st.session_state.get(PREVIEW_KEY)
    if preview is None or preview.cliente_id != cliente_id or preview.metodo != metodo:
        try:
            with st.spinner("Preparando o arquivo de treinamento..."), session_scope() as session:
                preview = preview_fine_tuning(session, cliente_id, metodo=metodo)
        except CuradoriaError as exc:
            show_error(exc)
            if st.button("Fechar", key="ft_fechar"):
                fechar()
                st.rerun()
            return
        st.session_state[PREVIEW_KEY] = preview
    st.text(f"Você está prestes a iniciar o fine-tuning do modelo para o cliente "
            f"{preview.cliente_nome}.")
    tokens = numero(preview.tokens_faturados)
    if preview.provedor == "openai":
        custo = f"- Custo estimado: **{format_brl(preview.custo_brl)}** ({format_usd(preview.custo_usd)})\n"
    else:  # the provider's own estimate, next to our token count
        base = (f" para {numero(preview.tokens_provedor)} tokens de treino"
                if preview.tokens_provedor else "")
        custo = (f"- Custo estimado pelo provedor: **{format_usd(preview.custo_usd)}** "
                 f"({format_brl(preview.custo_brl)}){base}\n")
    st.markdown(
        f"- Provedor: **{preview.provedor_nome}**\n"
        + (f"- Respostas corrigidas (pares de preferência): **{preview.conversas_usadas}**\n"
           if preview.metodo == "dpo" else f"- Conversas usadas: **{preview.conversas_usadas}**\n")
        + f"- Tokens faturados: **{tokens}** ({preview.epocas} épocas)\n"
        + custo +
        f"- Tempo estimado: **{preview.tempo_estimado}**\n"
        f"- Modelo base: **{plain(preview.modelo_base)}** — {plain(preview.desligamento)}"
    )
    for aviso in preview.avisos:
        st.warning(plain(aviso), icon=":material/warning:")
    st.warning("O processo não pode ser cancelado.", icon=":material/block:")
    col1, col2 = st.columns(2)
    if col1.button("Cancelar", key="ft_cancelar", width="stretch"):
        fechar()
        st.rerun()
    if col2.button("Sim, Iniciar", key="ft_sim", type="primary", width="stretch"):
        try:
            with st.spinner("Enviando o arquivo e criando o job..."):
                result = start_fine_tuning(get_engine(), cliente_id, current_user(),
                                           metodo=preview.metodo)
        except CuradoriaError as exc:
            st.session_state.pop(PREVIEW_KEY, None)
            show_error(exc)
            return
        fechar()
        st.session_state[TOAST_KEY] = (f"Fine-tuning de {plain(preview.cliente_nome)} iniciado "
                                       f"(job #{result.job_id}, pendente).")
        st.rerun()


st.title("Fine-tuning")
render_shutdown_banner()
if TOAST_KEY in st.session_state:
    st.toast(st.session_state.pop(TOAST_KEY), icon=":material/model_training:")

with session_scope() as session:
    clientes = summarize_fine_tuning(session)
    aguardando = {}
    for pendente in awaiting_approval(session):
        aguardando.setdefault(pendente.cliente_id, []).append(pendente)

if not clientes:
    st.info("Ainda não há clientes.")
    st.stop()

st.caption("Cada cliente treina o seu próprio modelo com as conversas marcadas como boas. "
           "Veja a página Análise para os problemas e tópicos de cada cliente.")

for item in clientes:
    r = item.readiness
    with st.container(border=True):
        st.subheader(plain(item.nome), anchor=False)
        st.progress(r.progresso, text=f"{r.marcadas} conversas avaliadas (mín. {r.min_marcadas}) · "
                                      f"{r.boas} boas (mín. {r.min_boas}) · "
                                      f"{r.ruins} ruins (mín. {r.min_ruins})")
        st.caption(f"Modelo base: {plain(item.modelo_base)} — {plain(item.desligamento)} "
                   f"Modelo em uso: {plain(item.modelo_ativo or item.modelo_base)}")
        for pendente in aguardando.get(item.cliente_id, []):
            st.warning(f"Job #{pendente.job_id}: modelo novo aguardando aprovação — o bot "
                       "continua com o modelo atual até um administrador decidir.",
                       icon=":material/pending:")
            st.page_link("pages/screens/avaliacao_modelos.py", label="Comparar e aprovar ou rejeitar",
                         icon=":material/fact_check:",
                         query_params={"avaliacao": pendente.avaliacao_id}
                         if pendente.avaliacao_id else None)
        job = item.job_aberto
        if job is not None:
            st.info(f"Job #{job.id}: {plain(job.status_label)}"
                    + (f" ({job.progresso}%)" if job.progresso is not None else "")
                    + f" — iniciado por {plain(job.iniciado_por or '—')} em {when(job.created_at)}.",
                    icon=":material/hourglass_top:")
            render_job_progress(job.id)
        st.button("Iniciar Fine-tuning", key=f"ft_iniciar_{item.cliente_id}",
                  type="primary", disabled=not item.pode_iniciar,
                  help=plain(item.bloqueio) if item.bloqueio else None,
                  icon=":material/model_training:", on_click=abrir, args=(item.cliente_id,))
        if item.bloqueio and job is None:
            st.caption(plain(item.bloqueio))

if st.session_state.get(DIALOG_KEY) is not None:
    confirmar(st.session_state[DIALOG_KEY])
