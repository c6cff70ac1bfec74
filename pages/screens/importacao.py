"""Importação: each cliente's Redis source, "Importar agora", last imports, rejected entries."""
from __future__ import annotations

import streamlit as st

from core.clientes.redis_source import mask_url
from core.db import get_engine, session_scope
from core.errors import CuradoriaError
from core.ingest.pipeline import (
    ingest_cliente,
    list_import_status,
    list_rejected_entries,
    update_redis_source,
)
from pages.ui.common import plain, require_login, show_error, when

require_login()  # before anything touches the database

RESULT_KEY = "importacao_resultado"


def origem(status) -> str:
    if status.redis_url:
        url = mask_url(status.redis_url)
    elif status.usa_redis_padrao:
        url = "REDIS_URL (padrão)"
    else:
        return "não configurada"
    return f"{url} · banco {status.redis_db} · prefixo '{status.redis_prefix}'"


def origem_curta(status) -> str:
    """The origin in a word or two, for the table (the full one is shown below it)."""
    if status.redis_url:
        return "URL própria"
    return "REDIS_URL (padrão)" if status.usa_redis_padrao else "não configurada"


st.title("Importação")
st.caption("Copia para o banco as mensagens que os bots guardam no Redis por 60 dias. "
           "Cada importação continua de onde a anterior parou e nunca grava nada duas vezes.")

with session_scope() as session:
    clientes = list_import_status(session)

if not clientes:
    st.info("Ainda não há clientes. Importe o primeiro com "
            "`python -m core ingest --cliente SLUG --redis-url URL`.")
    st.stop()

st.subheader("Última importação por cliente")
# Short columns only, so that the table fits the page at 1366 px: the full origin (URL,
# banco, prefixo) and the whole summary of the chosen cliente's last import (entries read,
# conversas extended, duplicates, expired, the error) are shown below the table.
st.dataframe(
    [
        {
            "Cliente": c.nome,
            "Origem": origem_curta(c),
            "Automática": "sim" if c.importa_automaticamente else "não",
            "Quando": when(c.ultima.concluida_em or c.ultima.iniciada_em) if c.ultima else "nunca",
            "Mensagens novas": c.ultima.mensagens_novas if c.ultima else 0,
            "Conversas novas": c.ultima.conversas_novas if c.ultima else 0,
            "Rejeitadas": c.ultima.total_rejeitadas if c.ultima else 0,
            "Erro": ("sim" if c.ultima.erro else "não") if c.ultima else "—",
        }
        for c in clientes
    ],
    hide_index=True,
    width="stretch",
    column_config={
        "Mensagens novas": st.column_config.NumberColumn("Mensagens", help="Mensagens novas"),
        "Conversas novas": st.column_config.NumberColumn("Conversas", help="Conversas novas"),
        "Rejeitadas": st.column_config.NumberColumn(
            "Rejeitadas", help="Entradas que não são mensagens válidas (listadas abaixo)"),
        "Erro": st.column_config.TextColumn(
            "Erro", help="Se a última importação falhou; o motivo aparece ao escolher o cliente abaixo"),
    },
)
st.caption("Escolha o cliente abaixo para ver a origem completa e o resumo da última "
           "importação (entradas lidas, conversas estendidas, duplicadas, expiradas, erro).")

por_slug = {c.slug: c for c in clientes}
slug = st.selectbox("Cliente", list(por_slug), format_func=lambda s: f"{por_slug[s].nome} ({s})")
atual = por_slug[slug]

col_origem, col_importar = st.columns(2)
with col_origem, st.form(f"origem_{slug}"):
    st.markdown("**Origem no Redis**")
    url = st.text_input("URL do Redis", value=atual.redis_url or "",
                        help="Ex.: redis://host:6379/0. Vazio: usa REDIS_URL.")
    banco = st.number_input("Número do banco", min_value=0, value=atual.redis_db, step=1,
                            help="Usado quando a URL não traz /N.")
    prefixo = st.text_input("Prefixo das chaves", value=atual.redis_prefix,
                            help="Quando o bot grava as chaves com um prefixo (ex.: loja1:).")
    if st.form_submit_button("Salvar origem"):
        try:
            with session_scope() as session:
                update_redis_source(session, slug, url, int(banco), prefixo)
        except CuradoriaError as exc:
            show_error(exc)
        else:
            st.session_state[RESULT_KEY] = (slug, "ok", "Origem salva.")
            st.rerun()

with col_importar:
    st.markdown("**Importar agora**")
    st.caption(f"Origem atual: {plain(origem(atual))}")
    sem_origem = not atual.redis_url and not atual.usa_redis_padrao
    motivo = ("Este cliente não tem Redis configurado: informe a URL ao lado (ou defina "
              "REDIS_URL) para importar.") if sem_origem else None
    if sem_origem:
        st.caption(motivo)
    if st.button("Importar agora", type="primary", icon=":material/download:",
                 disabled=sem_origem, help=motivo):
        try:
            with st.spinner("Importando..."):
                resumo = ingest_cliente(get_engine(), slug)
        except CuradoriaError as exc:
            st.session_state[RESULT_KEY] = (slug, "erro", str(exc))
        else:
            st.session_state[RESULT_KEY] = (slug, "erro" if resumo.erro else "ok", resumo.texto())
        st.rerun()
    resultado = st.session_state.get(RESULT_KEY)
    if resultado and resultado[0] == slug:
        (st.error if resultado[1] == "erro" else st.success)(plain(resultado[2]))
    elif atual.ultima:
        st.info(plain(atual.ultima.texto()))

st.subheader("Entradas rejeitadas")
with session_scope() as session:
    rejeitadas = list_rejected_entries(session, slug)
if not rejeitadas:
    st.caption("Nenhuma entrada rejeitada para este cliente.")
else:
    st.caption("Entradas do Redis que não são mensagens válidas; a importação seguiu sem elas. "
               "Mostradas como texto, até 300 caracteres; escolha uma linha para ver a chave "
               "e o trecho inteiros.")
    # Key and excerpt are long: narrow columns, so that the table fits the page at 1366 px,
    # and the chosen row written out in full below it (text that wraps).
    escolha = st.dataframe(
        [{"Registrada em": when(r.registrada_em), "Motivo": r.descricao, "Chave": r.redis_key,
          "Trecho": r.trecho} for r in rejeitadas],
        hide_index=True,
        width="stretch",
        column_config={"Registrada em": st.column_config.TextColumn("Registrada em", width=130),
                       "Motivo": st.column_config.TextColumn("Motivo", width=190),
                       "Chave": st.column_config.TextColumn("Chave", width=230),
                       "Trecho": st.column_config.TextColumn("Trecho", width=300)},
        on_select="rerun",
        selection_mode="single-row",
        key=f"rejeitadas_{slug}",
    )
    linhas = escolha.selection.rows if escolha else []
    if linhas:
        entrada = rejeitadas[linhas[0]]
        st.markdown("**Chave**")
        st.code(entrada.redis_key, language=None, wrap_lines=True)
        st.markdown("**Trecho**")
        st.code(entrada.trecho, language=None, wrap_lines=True)
