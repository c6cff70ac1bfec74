"""The cliente form of the Clientes page: create a cliente or edit one (name, slug, Redis
source, system prompt). Checks are core's (core.clientes.directory.save_cliente, the same
as the command line's); the form only reads the widgets and shows the pt-BR error.

To add a field: read it in `cliente_fields` (keys prefixed with `key`), carry it in
ClienteDados, and save it in save_cliente."""
from __future__ import annotations

import streamlit as st

from core.clientes.directory import ClienteDados, save_cliente
from core.db import session_scope
from core.db.tables import Cliente
from core.errors import CuradoriaError
from pages.ui.common import session_still_valid, show_error

SAVED_KEY = "cliente_salvo"  # (slug, message) of the last save, shown after the rerun


def cliente_fields(atual: Cliente | None, key: str) -> ClienteDados:
    """The form's inputs, filled with the cliente's current values when editing."""
    nome = st.text_input("Nome", value=atual.nome if atual else "", max_chars=120,
                         key=f"{key}_nome")
    slug = st.text_input(
        "Identificador (slug)", value=atual.slug if atual else "", max_chars=60,
        key=f"{key}_slug",
        help="Letras minúsculas, números e hífens (ex.: padaria-pao-dourado). Usado na linha "
             "de comando e nos links. Vazio: feito a partir do nome.")
    st.caption("Redis do bot deste cliente")
    url = st.text_input("URL do Redis", value=(atual.redis_url or "") if atual else "",
                        key=f"{key}_redis_url",
                        help="Ex.: redis://host:6379/0. Vazio: usa REDIS_URL.")
    col1, col2 = st.columns(2)
    banco = col1.number_input("Número do banco", min_value=0, max_value=1000, step=1,
                              value=int(atual.redis_db or 0) if atual else 0,
                              key=f"{key}_redis_db",
                              help="Usado quando a URL não diz o banco (/N).")
    prefixo = col2.text_input("Prefixo das chaves",
                              value=(atual.redis_prefix or "") if atual else "",
                              key=f"{key}_redis_prefix",
                              help="O começo de toda chave que o bot grava, se houver.")
    prompt = st.text_area("System prompt", value=(atual.system_prompt or "") if atual else "",
                          key=f"{key}_system_prompt", height=150,
                          help="Abre todos os exemplos de treino deste cliente.")
    return ClienteDados(nome=nome, slug=slug, redis_url=url, redis_db=int(banco),
                        redis_prefix=prefixo, system_prompt=prompt)


def render_cliente_form(atual: Cliente | None, key: str) -> str | None:
    """The form; after a successful save, the cliente's slug (the caller reruns)."""
    with st.form(f"form_{key}"):
        dados = cliente_fields(atual, key)
        label = "Salvar alterações" if atual else "Criar cliente"
        enviar = st.form_submit_button(label, type="primary", icon=":material/save:")
    if not enviar or not session_still_valid():
        return None
    try:
        with session_scope() as session:
            cliente = save_cliente(session, dados, cliente_id=atual.id if atual else None)
            slug, nome = cliente.slug, cliente.nome
    except CuradoriaError as exc:
        show_error(exc)
        return None
    acao = "salvo" if atual else "criado"
    st.session_state[SAVED_KEY] = (slug, f"Cliente {nome} ({slug}) {acao}.")
    return slug
