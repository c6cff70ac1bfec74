"""The admin's labels of problems, and how well the detector agrees with them.

On a conversa's card the admin confirms or corrects what the detector found (adds or
removes categories). The label is stored with who and when (`conversas_rotulos`); the
analysis page turns all labels into per-category precision and recall of the detector.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.db.tables import Conversa
from core.db.tables_analise import ConversaAnalise, ConversaProblema, ConversaRotulo
from core.errors import InvalidInput, NotFound
from core.review.detection import PROBLEMAS
from core.review.quality import Avaliacao, evaluate


@dataclass(frozen=True)
class Rotulo:
    """The problems the admin says one conversa has (empty: none), by whom and when."""

    conversa_id: int
    problemas: list[str]
    rotulado_por: str
    rotulado_em: dt.datetime


def _codes(problemas) -> list[str]:
    desconhecidos = [p for p in problemas if p not in PROBLEMAS]
    if desconhecidos:
        raise InvalidInput(f"Problema desconhecido: {', '.join(map(str, desconhecidos))}. "
                           f"Use: {', '.join(PROBLEMAS)}.")
    ordem = list(PROBLEMAS)
    return sorted(set(problemas), key=ordem.index)


def _split(texto: str) -> list[str]:
    return [c for c in (texto or "").split(",") if c]


def set_label(session: Session, conversa_id: int, problemas, usuario: str) -> Rotulo:
    """Store the admin's label of a conversa (replaces an earlier one)."""
    codigos = _codes(problemas)
    cliente_id = session.scalar(select(Conversa.cliente_id).where(Conversa.id == conversa_id))
    if cliente_id is None:
        raise NotFound(f"Conversa {conversa_id} não encontrada.")
    rotulo = session.get(ConversaRotulo, conversa_id)
    agora = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    if rotulo is None:
        rotulo = ConversaRotulo(conversa_id=conversa_id, cliente_id=cliente_id)
        session.add(rotulo)
    rotulo.problemas = ",".join(codigos)
    rotulo.rotulado_por = usuario
    rotulo.rotulado_em = agora
    session.flush()
    return Rotulo(conversa_id, codigos, usuario, agora)


def remove_label(session: Session, conversa_id: int) -> None:
    session.execute(delete(ConversaRotulo).where(ConversaRotulo.conversa_id == conversa_id))


def get_labels(session: Session, conversa_ids: list[int]) -> dict[int, Rotulo]:
    if not conversa_ids:
        return {}
    rows = session.execute(select(ConversaRotulo).where(ConversaRotulo.conversa_id.in_(conversa_ids)))
    return {r.conversa_id: Rotulo(r.conversa_id, _split(r.problemas), r.rotulado_por, r.rotulado_em)
            for (r,) in rows}


def measured_quality(session: Session, cliente_id: int | None = None) -> Avaliacao:
    """Per-category precision and recall of the detector against the admin's labels.

    Only labelled conversas that the analysis has seen count (a labelled conversa still
    in the analysis queue has no detection to compare yet).
    """
    query = (select(ConversaRotulo.conversa_id, ConversaRotulo.problemas)
             .join(ConversaAnalise, ConversaAnalise.conversa_id == ConversaRotulo.conversa_id))
    if cliente_id is not None:
        query = query.where(ConversaRotulo.cliente_id == cliente_id)
    rotulos = {cid: _split(p) for cid, p in session.execute(query)}
    detectados: dict[int, list[str]] = defaultdict(list)
    if rotulos:
        detect_query = select(ConversaProblema.conversa_id, ConversaProblema.codigo).join(
            ConversaRotulo, ConversaRotulo.conversa_id == ConversaProblema.conversa_id)
        if cliente_id is not None:
            detect_query = detect_query.where(ConversaRotulo.cliente_id == cliente_id)
        for cid, codigo in session.execute(detect_query):
            detectados[cid].append(codigo)
    return evaluate((detectados.get(cid, []), r) for cid, r in rotulos.items())
