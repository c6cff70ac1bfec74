"""Dados de treino: system prompt per cliente, the training file's report, preview, downloads."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import streamlit as st

from core.clientes.directory import list_clientes
from core import formato
from core.training.dataset import (build_training_files, preview_examples, preview_redaction,
                                   update_system_prompt)
from core.training.report import MOTIVOS, TIPOS_DADO
from core.db import session_scope
from core.errors import CuradoriaError
from pages.ui.common import numero, plain, require_login, show_checks, show_error
from pages.ui.preferencias import render_preference_file

require_login()  # before anything touches the database

REPORT_KEY = "dados_treino_relatorio"

st.title("Dados de treino")
st.caption("O arquivo JSONL enviado no fine-tuning: só conversas boas, cada uma começando pelo "
           "system prompt do cliente, com os dados pessoais trocados por marcadores.")

with session_scope() as session:
    clientes = list_clientes(session)
if not clientes:
    st.info("Ainda não há clientes.")
    st.stop()

por_nome = {f"{c.nome} ({c.slug})": c for c in clientes}
cliente = por_nome[st.selectbox("Cliente", list(por_nome))]

with st.form("form_system_prompt"):
    st.subheader("System prompt")
    texto = st.text_area("Abre todos os exemplos de treino deste cliente", value=cliente.system_prompt or "",
                         height=140)
    if st.form_submit_button("Salvar system prompt"):
        try:
            with session_scope() as session:
                update_system_prompt(session, cliente.id, texto)
            st.success("System prompt salvo.")
            st.session_state.pop(REPORT_KEY, None)
        except CuradoriaError as exc:
            show_error(exc)

if st.button("Gerar arquivo de treino", type="primary", icon=":material/dataset:"):
    try:
        with session_scope() as session:
            report = build_training_files(session, cliente.id,
                                          Path(tempfile.mkdtemp(prefix="curadoria-treino-")))
        st.session_state[REPORT_KEY] = (cliente.id, report)
    except CuradoriaError as exc:
        show_error(exc)

guardado = st.session_state.get(REPORT_KEY)
if guardado and guardado[0] == cliente.id:
    report = guardado[1]
    st.subheader("Relatório")
    show_checks(report, "O arquivo passa na validação do provedor.")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Exemplos de treino", numero(report.exemplos))
    c2.metric("Exemplos de validação", numero(report.exemplos_validacao))
    c3.metric("Épocas", report.epocas)
    c4.metric("Tokens faturados", numero(report.tokens_faturados))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Custo estimado em dólar", formato.dinheiro(report.custo_usd, "US$"))
    c2.metric("Custo estimado em reais", formato.dinheiro(report.custo_brl))
    c3.metric("Conversas usadas", numero(report.conversas_usadas))
    c4.metric("Conversas puladas", numero(sum(report.puladas.values())))
    if report.exemplos_corrigidos:
        st.caption(f"{formato.plural(report.exemplos_corrigidos, 'exemplo')} de conversas corrigidas: "
                   "terminam com a correção em vez da resposta do bot.")
    st.caption(f"Modelo base {plain(report.modelo_base)}; tokenizador {plain(report.encoding)}; limite de "
               f"{numero(report.limite_tokens)} tokens por exemplo; câmbio "
               f"{formato.dinheiro(report.cambio_usd_brl)} por US$ 1.")
    left, right = st.columns(2)
    with left:
        st.markdown("**Conversas puladas**")
        st.dataframe([{"Motivo": MOTIVOS.get(k, k), "Conversas": v} for k, v in report.puladas.items()]
                     or [{"Motivo": "nenhuma", "Conversas": 0}], hide_index=True)
    with right:
        st.markdown("**Dados pessoais removidos**")
        st.dataframe([{"Tipo": TIPOS_DADO.get(k, k), "Ocorrências": v} for k, v in report.redacoes.items()]
                     or [{"Tipo": "nenhum", "Ocorrências": 0}], hide_index=True)
        if report.mantidos:
            st.markdown("**Dados do próprio cliente mantidos**")
            st.dataframe([{"Tipo": TIPOS_DADO.get(k, k), "Ocorrências": v}
                          for k, v in report.mantidos.items()], hide_index=True)
            st.caption("Telefones, e-mails, CNPJ, endereço, CEP e chave Pix do próprio negócio "
                       "(página Clientes) ficam nas respostas do bot.")
    d1, d2 = st.columns(2)
    d1.download_button("Baixar treino (JSONL)", report.train_path.read_bytes(),
                       file_name=f"{cliente.slug}-train.jsonl", mime="application/jsonl",
                       icon=":material/download:")
    if report.validation_path:
        d2.download_button("Baixar validação (JSONL)", report.validation_path.read_bytes(),
                           file_name=f"{cliente.slug}-validation.jsonl", mime="application/jsonl",
                           icon=":material/download:")

PAPEIS = {"system": "Sistema (system prompt)", "user": "Cliente", "assistant": "Bot"}
st.subheader("Prévia do arquivo de treino")
st.caption("Os primeiros exemplos exatamente como o modelo vai vê-los: as primeiras linhas do "
           "arquivo, já com os dados pessoais trocados por marcadores.")
with session_scope() as session:
    exemplos = preview_examples(session, cliente.id)
if not exemplos:
    st.caption("Ainda não há conversas boas que virem exemplos.")
for n, linha in enumerate(exemplos, start=1):
    with st.container(border=True):
        st.markdown(f"**Exemplo {n}**")
        for mensagem in json.loads(linha)["messages"]:
            # Customer text: shown as plain text, never as markdown or HTML.
            st.text(f"{PAPEIS.get(mensagem['role'], mensagem['role'])}: {mensagem['content']}")
if exemplos:
    with st.expander("Linhas do arquivo (JSONL)"):
        st.code("\n".join(exemplos), language="json", wrap_lines=True)

render_preference_file(cliente)

st.subheader("Prévia da remoção de dados pessoais")
with session_scope() as session:
    previews = preview_redaction(session, cliente.id)
if not previews:
    st.caption("Nenhuma mensagem com dados pessoais nas conversas boas analisadas.")
for preview in previews:
    antes, depois = st.columns(2)
    # Customer text: shown as plain text, never as markdown or HTML.
    antes.text(f"Antes: {preview.antes}")
    depois.text(f"Depois: {preview.depois}")
