"""Corrections: the admin marks a bot answer that went wrong and writes the right one.

One correction per bot message (the table's unique key); saving again edits it. Saved
with who and when; the conversa's rating is not touched (it stays the admin's own
decision). The training file (core.training.dataset) turns a corrected conversa into an
example that ends with the correction, and the preference file
(core.training.preference) into one DPO row per correction. Bulk import and export of
corrections as CSV: core.review.corrections_csv.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db.tables import Mensagem
from core.db.tables_correcoes import Correcao
from core.errors import InvalidInput, NotFound

MAX_CARACTERES = 20_000


@dataclass(frozen=True)
class CorrecaoLinha:
    id: int
    conversa_id: int
    mensagem_id: int
    resposta_correta: str
    criada_por: str | None
    criada_em: dt.datetime | None
    atualizada_por: str | None
    atualizada_em: dt.datetime | None


@dataclass(frozen=True)
class Salvamento:
    """The correction after a save and what the save did: criada | atualizada | igual."""

    correcao: CorrecaoLinha
    acao: str


def _linha(c: Correcao) -> CorrecaoLinha:
    return CorrecaoLinha(c.id, c.conversa_id, c.mensagem_id, c.resposta_correta, c.criada_por,
                         c.criada_em, c.atualizada_por, c.atualizada_em)


def clean_text(texto: str | None) -> str:
    """The correction as stored: without NUL bytes (PostgreSQL text cannot hold one) and
    surrounding blanks; InvalidInput when nothing is left or it is too long."""
    texto = (texto or "").replace("\x00", "").strip()
    if not texto:
        raise InvalidInput("A resposta correta está vazia: escreva o que o bot deveria ter "
                           "respondido.")
    if len(texto) > MAX_CARACTERES:
        raise InvalidInput(f"A resposta correta passa de {MAX_CARACTERES} caracteres.")
    return texto


def bot_message(session: Session, mensagem_id: int, conversa_id: int | None = None) -> Mensagem:
    """The bot message a correction may be attached to, or a pt-BR error saying why not."""
    mensagem = session.get(Mensagem, mensagem_id)
    if mensagem is None:
        raise NotFound(f"Mensagem #{mensagem_id} não encontrada.")
    if conversa_id is not None and mensagem.conversa_id != conversa_id:
        raise InvalidInput(f"A mensagem #{mensagem_id} não pertence à conversa #{conversa_id} "
                           f"(ela é da conversa #{mensagem.conversa_id}).")
    if mensagem.role != "assistant":
        raise InvalidInput(f"A mensagem #{mensagem_id} é do cliente, não do bot: só respostas "
                           "do bot podem ser corrigidas.")
    return mensagem


def save_correction(session: Session, mensagem_id: int, resposta_correta: str, usuario: str,
                    conversa_id: int | None = None) -> Salvamento:
    """Write (or edit) the correction of one bot message."""
    texto = clean_text(resposta_correta)
    mensagem = bot_message(session, mensagem_id, conversa_id)
    if texto == (mensagem.conteudo or "").strip():
        raise InvalidInput("A resposta correta é igual à resposta do bot: nada a corrigir.")
    existente = session.scalar(select(Correcao).where(Correcao.mensagem_id == mensagem_id))
    if existente is None:
        try:
            with session.begin_nested():
                existente = Correcao(cliente_id=mensagem.cliente_id, conversa_id=mensagem.conversa_id,
                                     mensagem_id=mensagem_id, resposta_correta=texto,
                                     criada_por=usuario, criada_em=utcnow())
                session.add(existente)
            return Salvamento(_linha(existente), "criada")
        except IntegrityError:  # another admin saved it first: this save edits theirs
            existente = session.scalar(select(Correcao).where(Correcao.mensagem_id == mensagem_id))
    if existente.resposta_correta == texto:
        return Salvamento(_linha(existente), "igual")
    existente.resposta_correta = texto
    existente.atualizada_por = usuario
    existente.atualizada_em = utcnow()
    session.flush()
    return Salvamento(_linha(existente), "atualizada")


def remove_correction(session: Session, mensagem_id: int) -> bool:
    """Remove the correction of a message; False when there was none."""
    result = session.execute(delete(Correcao).where(Correcao.mensagem_id == mensagem_id))
    return bool(result.rowcount)


def corrections_of(session: Session, conversa_id: int) -> dict[int, CorrecaoLinha]:
    """A conversa's corrections by the message they correct."""
    rows = session.scalars(select(Correcao).where(Correcao.conversa_id == conversa_id))
    return {c.mensagem_id: _linha(c) for c in rows}


def corrected_conversas(session: Session, conversa_ids: list[int]) -> dict[int, int]:
    """How many corrections each of these conversas has (only the corrected ones)."""
    if not conversa_ids:
        return {}
    rows = session.execute(select(Correcao.conversa_id, func.count())
                           .where(Correcao.conversa_id.in_(conversa_ids))
                           .group_by(Correcao.conversa_id))
    return {conversa_id: n for conversa_id, n in rows}


def count_corrections(session: Session, cliente_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Correcao)
                          .where(Correcao.cliente_id == cliente_id)) or 0


def cliente_corrections(session: Session, cliente_id: int
                        ) -> list[tuple[int, list[tuple[int, str, str]], dict[int, str]]]:
    """Every corrected conversa of a cliente: (conversa_id, its messages as (id, role,
    content) in time order, {corrected message id: correction}), by conversa id.

    Corrections are written by hand, so there are few: read in one go."""
    correcoes: dict[int, dict[int, str]] = {}
    for conversa_id, mensagem_id, texto in session.execute(
            select(Correcao.conversa_id, Correcao.mensagem_id, Correcao.resposta_correta)
            .where(Correcao.cliente_id == cliente_id)):
        correcoes.setdefault(conversa_id, {})[mensagem_id] = texto
    if not correcoes:
        return []
    mensagens: dict[int, list[tuple[int, str, str]]] = {}
    ids = sorted(correcoes)
    for start in range(0, len(ids), 500):
        for conversa_id, mid, role, conteudo in session.execute(
                select(Mensagem.conversa_id, Mensagem.id, Mensagem.role, Mensagem.conteudo)
                .where(Mensagem.conversa_id.in_(ids[start:start + 500]))
                .order_by(Mensagem.conversa_id, Mensagem.enviada_em, Mensagem.id)):
            mensagens.setdefault(conversa_id, []).append((mid, role, conteudo))
    return [(cid, mensagens.get(cid, []), correcoes[cid]) for cid in ids]
