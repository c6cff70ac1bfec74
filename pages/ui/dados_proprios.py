"""The cliente's own public details on the Clientes page: phones, e-mails, CNPJ, address,
CEP and Pix key, which the training file keeps (core.clientes.dados_proprios)."""
from __future__ import annotations

import streamlit as st

from core.clientes.dados_proprios import DadosProprios, dados_proprios, update_dados_proprios
from core.clientes.directory import get_cliente
from core.db import session_scope
from core.errors import CuradoriaError
from pages.ui.common import plain, session_still_valid, show_error

_MSG = "dados_proprios_msg"


def render_dados_proprios(slug: str) -> None:
    """The form of one cliente's own details (keys per cliente: switching clientes never
    shows another one's values)."""
    st.subheader("Dados públicos do cliente")
    st.caption("Telefones, e-mails, CNPJ, endereço, CEP e chave Pix do próprio negócio. O "
               "arquivo de treino mantém esses dados nas respostas do bot, escritos de qualquer "
               "jeito; os dados pessoais dos clientes finais continuam sempre removidos.")
    with session_scope() as session:
        dados = dados_proprios(get_cliente(session, slug))
    if _MSG in st.session_state:
        st.success(plain(st.session_state.pop(_MSG)), icon=":material/check:")
    with st.form(f"dados_proprios_{slug}", border=True):
        c1, c2 = st.columns(2)
        telefones = c1.text_area("Telefones (um por linha)", value="\n".join(dados.telefones),
                                 key=f"dp_telefones_{slug}", height=100)
        emails = c2.text_area("E-mails (um por linha)", value="\n".join(dados.emails),
                              key=f"dp_emails_{slug}", height=100)
        c1, c2, c3 = st.columns(3)
        cnpj = c1.text_input("CNPJ", value=dados.cnpj, key=f"dp_cnpj_{slug}")
        cep = c2.text_input("CEP", value=dados.cep, key=f"dp_cep_{slug}")
        pix = c3.text_input("Chave Pix", value=dados.chave_pix, key=f"dp_pix_{slug}")
        endereco = st.text_input("Endereço", value=dados.endereco, key=f"dp_endereco_{slug}")
        salvar = st.form_submit_button("Salvar dados públicos", icon=":material/save:")
    if not salvar or not session_still_valid():
        return
    try:
        with session_scope() as session:
            update_dados_proprios(session, get_cliente(session, slug), DadosProprios(
                telefones=telefones.splitlines(), emails=emails.splitlines(), cnpj=cnpj,
                endereco=endereco, cep=cep, chave_pix=pix))
    except CuradoriaError as exc:
        show_error(exc)
        return
    st.session_state[_MSG] = "Dados públicos salvos."
    st.rerun()
