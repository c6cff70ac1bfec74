"""The admin's labels of problems: on a conversa's card (confirm or correct what the
detector found) and, on the analysis page, how well the detector agrees with them."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.config import get_settings
from core.db import session_scope
from core.errors import CuradoriaError
from core.review.detection import PROBLEMAS
from core.review.labels import get_labels, measured_quality, set_label
from pages.ui.common import current_user, numero, plain, session_still_valid, when

ERRO_KEY = "erro_rotulo"


def _salvar(conversa_id: int, chave: str) -> None:
    if not session_still_valid():  # a callback runs before any login check
        return
    try:
        with session_scope() as session:
            set_label(session, conversa_id, st.session_state.get(chave) or [], current_user())
    except CuradoriaError as exc:
        st.session_state[f"{ERRO_KEY}-{conversa_id}"] = str(exc)


def rotulo_da_conversa(conversa_id: int, sugestao=None, prefixo: str = "") -> None:
    """On a card: the problems the admin says this conversa has, prefilled with the
    admin's earlier label or else with what the detector found."""
    with session_scope() as session:
        rotulo = get_labels(session, [conversa_id]).get(conversa_id)
    detectados = list(sugestao.problemas) if sugestao is not None else []
    chave = f"{prefixo}rotulo-{conversa_id}"
    with st.expander("Problemas desta conversa (rótulo)", expanded=False):
        if erro := st.session_state.pop(f"{ERRO_KEY}-{conversa_id}", None):
            st.error(plain(erro), icon=":material/error:")
        st.multiselect(
            "Problemas que a conversa tem de fato", list(PROBLEMAS),
            default=rotulo.problemas if rotulo else detectados, format_func=PROBLEMAS.get,
            key=chave, placeholder="Nenhum problema",
            help="Confirme ou corrija o que a análise detectou: acrescente ou tire problemas. "
                 "Esses rótulos medem a qualidade da detecção na Análise de Treinamento.")
        st.button("Salvar rótulo" if rotulo else "Confirmar problemas", key=f"{chave}-salvar",
                  on_click=_salvar, args=(conversa_id, chave), icon=":material/label:")
        if rotulo:
            st.caption(f"Rotulada por {plain(rotulo.rotulado_por)} em {when(rotulo.rotulado_em)}: "
                       + (", ".join(PROBLEMAS[c].lower() for c in rotulo.problemas)
                          or "nenhum problema") + ".")
        else:
            st.caption("Ainda sem rótulo: marcados os problemas detectados automaticamente.")


def _pct(valor: float | None) -> str:
    return "—" if valor is None else f"{valor:.0%}"


def qualidade_da_deteccao(cliente_id: int | None) -> None:
    """Analysis page: per category, precision and recall of the detector against the
    admin's labels, with how many labels back each figure."""
    with session_scope() as session:
        avaliacao = measured_quality(session, cliente_id)
    st.subheader("Qualidade da detecção")
    total = next(iter(avaliacao.categorias.values())).conversas
    if not total:
        st.info("Ainda não há conversas rotuladas. Em Todas as Conversas, abra \"Problemas "
                "desta conversa\" num card e confirme ou corrija o que foi detectado.",
                icon=":material/label:")
        return
    settings = get_settings()
    detector = (f"classificador LLM ({settings.classificador_modelo})"
                if settings.classificador == "llm" and settings.classificador_modelo else "regras")
    st.caption(f"Detector em uso: {plain(detector)}. "
               f"Medida contra {numero(total)} conversas rotuladas pelo admin. Precisão: das "
               "conversas em que o problema foi detectado, quantas o têm de fato. Recall: das "
               "que o têm, em quantas ele foi detectado.")
    st.dataframe(pd.DataFrame([{
        "Problema": q.rotulo,
        "Precisão": _pct(q.precisao), "Detectadas (base da precisão)": q.detectados,
        "Recall": _pct(q.recall), "Rotuladas com o problema (base do recall)": q.positivos,
    } for q in avaliacao.categorias.values()]), hide_index=True, use_container_width=True)
    if avaliacao.comuns:
        st.caption(f"Conversas rotuladas sem problema marcadas por engano: "
                   f"{numero(avaliacao.comuns_sinalizadas)} de {numero(avaliacao.comuns)} "
                   f"({_pct(avaliacao.taxa_comuns_sinalizadas)}).")
