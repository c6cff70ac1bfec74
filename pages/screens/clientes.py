"""Clientes: the model each bot uses, its history, and a one-click rollback."""
from __future__ import annotations

import streamlit as st

from core.clientes import list_clientes
from core.db import session_scope
from core.errors import CuradoriaError
from core.modelos import describe_cliente_model, rollback_model
from core.poll import get_poller_status
from pages.ui.common import current_user, plain, require_login, session_still_valid, show_error, when

require_login()  # before anything touches the database

MOTIVOS = {
    "fine_tuning": "Fine-tuning aplicado",
    "rollback": "Volta ao modelo anterior",
    "rollback_base": "Volta ao modelo base",
}

st.title("Clientes")

with session_scope() as session:
    clientes = [(c.slug, c.nome) for c in list_clientes(session)]
    poller = get_poller_status(session)

if poller is None:
    st.warning("O poller ainda não rodou: os fine-tunings não serão acompanhados até ele "
               "ser iniciado (`python poller.py`).", icon=":material/schedule:")
elif poller.atrasado():
    st.warning(f"Poller visto por último às {when(poller.visto_em)} — parece parado.",
               icon=":material/warning:")
else:
    st.caption(f"Poller visto por último às {when(poller.visto_em)}.")

if not clientes:
    st.info("Ainda não há clientes.")
    st.stop()

nomes = dict(clientes)
slug = st.selectbox("Cliente", list(nomes), format_func=lambda s: nomes[s])

if "rollback_msg" in st.session_state:
    st.success(plain(st.session_state.pop("rollback_msg")), icon=":material/undo:")


def reverter(para_base: bool) -> None:
    if not session_still_valid():  # a callback runs before any login check
        return
    try:
        with session_scope() as session:
            result = rollback_model(session, slug, usuario=current_user(), to_base=para_base)
    except CuradoriaError as exc:
        st.session_state["rollback_erro"] = str(exc)
        return
    aviso = "" if result.redis_gravado else " (sem Redis configurado: só no banco)"
    st.session_state["rollback_msg"] = f"Modelo em uso agora: {result.modelo_em_uso}{aviso}."


if "rollback_erro" in st.session_state:
    show_error(st.session_state.pop("rollback_erro"))

try:
    with session_scope() as session:
        info = describe_cliente_model(session, slug)
except CuradoriaError as exc:
    show_error(exc)
    st.stop()

col1, col2 = st.columns(2)
with col1:
    st.caption("Modelo em uso")
    st.code(info.modelo_em_uso, language=None)
with col2:
    st.caption("Modelo base")
    st.code(info.modelo_base, language=None)
if info.modelo_ativo:
    st.caption("O bot usa um modelo treinado (fine-tuning).")
else:
    st.caption("O bot usa o modelo base.")
st.caption("Chave no Redis lida pelo bot" + ("" if info.tem_redis else
                                             " (este cliente não tem Redis configurado)"))
st.code(info.chave_redis, language=None)

alvo = info.alvo_rollback or f"{info.modelo_base} (modelo base)"
c1, c2 = st.columns(2)
c1.button(f"Voltar para {plain(alvo)}", icon=":material/undo:", disabled=not info.pode_reverter,
          on_click=reverter, args=(False,), key="btn_rollback")
if info.alvo_rollback:  # when the previous model is the base one, the button above does it
    c2.button("Voltar ao modelo base", icon=":material/restart_alt:",
              disabled=not info.pode_reverter, on_click=reverter, args=(True,),
              key="btn_rollback_base")

st.subheader("Histórico de modelos")
if not info.historico:
    st.caption("Nenhuma troca de modelo registrada.")
else:
    st.dataframe(
        [{"Quando": when(h.created_at), "Motivo": MOTIVOS.get(h.motivo, h.motivo),
          "De": h.modelo_anterior or "modelo base", "Para": h.modelo_novo or "modelo base",
          "Por": h.alterado_por or "—", "Job": h.fine_tuning_job_id}
         for h in info.historico],
        hide_index=True, use_container_width=True,
    )
