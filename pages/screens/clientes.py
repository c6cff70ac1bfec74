"""Clientes: create and edit a cliente (pages/ui/cliente_form.py), the model each bot
uses, its history, and a one-click rollback."""
from __future__ import annotations

import streamlit as st

from core import formato
from core.clientes.directory import get_cliente, list_clientes
from core.db import session_scope
from core.errors import CuradoriaError
from core.finetune.deploy import describe_cliente_model, rollback_model
from core.finetune.choice import (
    PROVIDER_LABELS,
    base_models_for,
    default_base_model,
    fine_tuning_choice,
    provider_label,
    set_fine_tuning_provider,
    shutdown_text_for,
)
from core.poller.cycle import get_poller_status
from core.finetune.sunset import model_status, own_contingency, set_contingency
from pages.ui.common import (
    current_user,
    plain,
    require_login,
    session_still_valid,
    show_error,
    when,
)
from pages.ui.cliente_form import SAVED_KEY, render_cliente_form
from pages.ui.dados_proprios import render_dados_proprios
from pages.ui.desligamento import render_shutdown_banner

require_login()  # before anything touches the database


def _prazo(dias: int) -> str:
    if dias > 0:
        return "falta 1 dia" if dias == 1 else f"faltam {formato.plural(dias, 'dia')}"
    return "hoje" if dias == 0 else f"há {formato.plural(-dias, 'dia')}"

MOTIVOS = {
    "fine_tuning": "Fine-tuning aplicado",
    "rollback": "Volta ao modelo anterior",
    "rollback_base": "Volta ao modelo base",
    "troca_de_provedor": "Troca de provedor (modelo fixado)",
    "desligamento": "Troca antes do desligamento",
    "manual": "Aplicado manualmente",
}

st.title("Clientes")
render_shutdown_banner()

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

nomes = dict(clientes)
if salvo := st.session_state.pop(SAVED_KEY, None):
    st.session_state["cliente_selecionado"] = salvo[0]  # the cliente just created or saved
    st.success(plain(salvo[1]), icon=":material/check:")
if st.session_state.get("cliente_selecionado") not in nomes:
    st.session_state.pop("cliente_selecionado", None)  # renamed or removed elsewhere

with st.expander("Novo cliente", icon=":material/add_business:", expanded=not clientes):
    if render_cliente_form(None, "novo_cliente"):
        st.rerun()

if not clientes:
    st.info("Ainda não há clientes: cadastre o primeiro acima.")
    st.stop()

slug = st.selectbox("Cliente", list(nomes), format_func=lambda s: nomes[s],
                    key="cliente_selecionado")
with session_scope() as session:
    atual = get_cliente(session, slug)
with st.expander("Dados do cliente: nome, identificador, Redis e system prompt",
                 icon=":material/edit:"):
    if render_cliente_form(atual, f"editar_{atual.id}"):
        st.rerun()

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
    st.code(info.modelo_em_uso, language=None, wrap_lines=True)  # a long ft: id wraps, never cut
with col2:
    st.caption("Modelo base")
    st.code(info.modelo_base, language=None, wrap_lines=True)
if info.modelo_ativo:
    st.caption("O bot usa um modelo treinado (fine-tuning).")
else:
    st.caption("O bot usa o modelo base.")
st.caption("Chave no Redis lida pelo bot" + ("" if info.tem_redis else
                                             " (este cliente não tem Redis configurado)"))
st.code(info.chave_redis, language=None, wrap_lines=True)

alvo = info.alvo_rollback or f"{info.modelo_base} (modelo base)"
c1, c2 = st.columns(2)
c1.button(f"Voltar para {plain(alvo)}", icon=":material/undo:", disabled=not info.pode_reverter,
          on_click=reverter, args=(False,), key="btn_rollback")
if info.alvo_rollback:  # when the previous model is the base one, the button above does it
    c2.button("Voltar ao modelo base", icon=":material/restart_alt:",
              disabled=not info.pode_reverter, on_click=reverter, args=(True,),
              key="btn_rollback_base")

st.subheader("Fine-tuning: provedor e modelo base")
with session_scope() as session:
    escolha = fine_tuning_choice(session, slug)
st.caption("Onde o próximo fine-tuning deste cliente roda. Na Together AI o modelo é aberto: "
           "o adaptador LoRA é baixado e servido pelo vLLM da equipe, sem data de "
           "desligamento. Trocar aqui não muda o modelo que o bot usa agora.")
provedores = list(PROVIDER_LABELS)
provedor = st.selectbox("Provedor de fine-tuning", provedores,
                        index=provedores.index(escolha.provedor),
                        format_func=provider_label, key=f"ft_provedor_{slug}")
modelos = base_models_for(provedor)
atual = default_base_model(provedor, escolha.modelo_base)
modelo_base = st.selectbox("Modelo base", modelos, index=modelos.index(atual),
                           key=f"ft_modelo_base_{slug}_{provedor}")
st.caption(shutdown_text_for(provedor, modelo_base))
if st.button("Salvar provedor e modelo base", icon=":material/save:", key="btn_ft_provedor"):
    try:
        with session_scope() as session:
            set_fine_tuning_provider(session, slug, provedor, modelo_base,
                                     usuario=current_user())
        st.session_state["provedor_msg"] = (f"Próximo fine-tuning: {provider_label(provedor)}, "
                                            f"modelo base {modelo_base}.")
        st.rerun()
    except CuradoriaError as exc:
        show_error(exc)
if "provedor_msg" in st.session_state:
    st.success(st.session_state.pop("provedor_msg"), icon=":material/check:")
st.subheader("Desligamento e contingência")
with session_scope() as session:
    status = model_status(session, slug)
    propria, propria_endpoint = own_contingency(session, slug)
st.caption(f"Provedor: {status.provedor} — endpoint: `{status.endpoint or '—'}`")
if status.desligamento is None:
    st.caption("Nenhuma data de desligamento conhecida para o modelo em uso.")
else:
    fonte = "informada pelo provedor" if status.fonte == "api" else "do catálogo interno"
    st.caption(f"O modelo em uso {'será' if status.dias_restantes > 0 else 'foi'} desligado em "
               f"{formato.data(status.desligamento)} ({_prazo(status.dias_restantes)}; data {fonte}).")
if status.contingencia:
    origem = "deste cliente" if propria else "padrão (CURADORIA_MODELO_CONTINGENCIA)"
    st.caption(f"Modelo de contingência {origem}: `{status.contingencia}` em "
               f"`{status.contingencia_endpoint}`")
else:
    st.caption("Nenhum modelo de contingência definido.")
if "contingencia_msg" in st.session_state:
    st.success(st.session_state.pop("contingencia_msg"), icon=":material/check:")
novo_modelo = st.text_input("Modelo de contingência deste cliente", value=propria or "",
                            key=f"contingencia_modelo_{slug}",
                            help="Vazio = usar o padrão CURADORIA_MODELO_CONTINGENCIA.")
novo_endpoint = st.text_input("Endpoint do modelo de contingência", value=propria_endpoint or "",
                              key=f"contingencia_endpoint_{slug}",
                              help="URL .../v1; vazio = derivada do nome do modelo.")
if st.button("Salvar contingência", icon=":material/save:", key="btn_contingencia"):
    try:
        with session_scope() as session:
            set_contingency(session, slug, novo_modelo, novo_endpoint)
    except CuradoriaError as exc:
        show_error(exc)
    else:
        st.session_state["contingencia_msg"] = (
            f"Contingência salva: {novo_modelo.strip()}." if novo_modelo.strip()
            else "Contingência própria removida: vale o padrão.")
        st.rerun()

st.subheader("Histórico de modelos")
if not info.historico:
    st.caption("Nenhuma troca de modelo registrada.")
else:
    st.dataframe(
        [{"Quando": when(h.created_at), "Motivo": MOTIVOS.get(h.motivo, h.motivo),
          "De": h.modelo_anterior or "modelo base", "Para": h.modelo_novo or "modelo base",
          "Por": h.alterado_por or "—", "Job": h.fine_tuning_job_id}
         for h in info.historico],
        hide_index=True, width="stretch",
    )

render_dados_proprios(slug)
