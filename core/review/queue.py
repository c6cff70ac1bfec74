"""The review queue: one conversa at a time, unrated ones first, with the list's filters.

The queue is read in small batches by keyset (start time, id; newest first), so the next
batch costs the same at any depth, and the screen keeps the next few conversas loaded
ahead (`load_items`) so a rating shows the next conversa without waiting for the database.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.db.tables import SEM_AVALIACAO, Conversa
from core.errors import NotFound
from core.review.analysis import Sugestao, get_suggestions
from core.review.conversations import (
    ConversaDetalhe,
    _conversa_conditions,
    _validate_filters,
    get_conversation,
)
from core.review.ratings import HistoricoAvaliacao, rating_history

FASE_SEM_AVALIACAO, FASE_AVALIADAS = 0, 1


@dataclass(frozen=True)
class Cursor:
    """Where the queue stopped: the phase (unrated, then rated) and the last conversa read."""

    fase: int = FASE_SEM_AVALIACAO
    iniciada_em: dt.datetime | None = None
    id: int | None = None


def _phases(avaliacao: str | None) -> tuple[int, ...]:
    if avaliacao is None:
        return (FASE_SEM_AVALIACAO, FASE_AVALIADAS)
    return (FASE_SEM_AVALIACAO,) if avaliacao == SEM_AVALIACAO else (FASE_AVALIADAS,)


def queue_ids(session: Session, cursor: Cursor | None = None, limite: int = 20,
              excluir: frozenset[int] | set[int] = frozenset(), **filtros) -> tuple[list[int], Cursor | None]:
    """The next `limite` conversa ids of the queue after `cursor`, and the cursor after them
    (None once the queue is exhausted). `filtros` are list_conversations' filters; without
    a rating filter the unrated conversas come first, then the rated ones (minus `excluir`,
    e.g. the ones rated in this sitting)."""
    f = _validate_filters(**filtros)
    conds = _conversa_conditions(session, f)
    fases = _phases(f.avaliacao)
    cursor = cursor or Cursor(fase=fases[0])
    ids: list[int] = []
    for fase in (p for p in fases if p >= cursor.fase):
        after = cursor if fase == cursor.fase else Cursor(fase)
        query = select(Conversa.id, Conversa.iniciada_em).where(*conds)
        query = query.where(Conversa.avaliacao.is_(None) if fase == FASE_SEM_AVALIACAO
                            else Conversa.avaliacao.is_not(None))
        if after.id is not None:
            query = query.where(or_(Conversa.iniciada_em < after.iniciada_em,
                                    and_(Conversa.iniciada_em == after.iniciada_em,
                                         Conversa.id < after.id)))
        rows = session.execute(query.order_by(Conversa.iniciada_em.desc(), Conversa.id.desc())
                               .limit(limite - len(ids) + len(excluir))).all()
        for cid, iniciada_em in rows:
            cursor = Cursor(fase, iniciada_em, cid)
            if cid not in excluir:
                ids.append(cid)
            if len(ids) == limite:
                return ids, cursor
        cursor = Cursor(fase + 1)
    return ids, None


@dataclass(frozen=True)
class ItemFila:
    """Everything the queue shows of one conversa."""

    detalhe: ConversaDetalhe
    sugestao: Sugestao | None
    historico: list[HistoricoAvaliacao]


def load_items(session: Session, conversa_ids: list[int]) -> dict[int, ItemFila]:
    """The conversas (messages, suggestion, rating history) of `conversa_ids`; ids that no
    longer exist are left out."""
    sugestoes = get_suggestions(session, list(conversa_ids))
    items: dict[int, ItemFila] = {}
    for cid in conversa_ids:
        try:
            detalhe = get_conversation(session, cid)
        except NotFound:
            continue
        items[cid] = ItemFila(detalhe, sugestoes.get(cid), rating_history(session, cid))
    return items
