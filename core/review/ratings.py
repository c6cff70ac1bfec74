"""Ratings beyond one click: several conversas at once, accepting the analysis' suggestion,
an optional reason, and who rated what (from the audit trail).

Every rating is an UPDATE of `conversas`; the audit trigger (migration 0002) writes one
`avaliacoes_historico` row per changed conversa, whoever the writer. The reason the admin
gives is added to the rows the same statement produced (same conversa, admin and instant),
inside the same transaction, so it can never land on another writer's row.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import local_day, local_midnight_utc, utcnow
from core.db.tables import AVALIACOES, AvaliacaoHistorico, Conversa
from core.db.tables_analise import ConversaAnalise
from core.errors import InvalidInput

MOTIVO_MAX = 300
TAG_MAX = 40
TAGS_MAX = 8
SEPARADOR = ";"
# Tags offered on the screens; any short text is accepted.
TAGS_SUGERIDAS = ("resposta errada", "não resolveu", "tom inadequado", "inventou informação",
                  "devia transferir", "resposta ótima", "resolveu rápido")
TAG_SUGESTAO_ACEITA = "sugestão aceita"


@dataclass(frozen=True)
class Motivo:
    """An admin's optional reason: a short text and tags."""

    texto: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def tags_texto(self) -> str | None:
        return SEPARADOR.join(self.tags) or None


def make_reason(texto: str | None = None, tags=()) -> Motivo:
    """A validated reason: text up to 300 characters, up to 8 tags of up to 40 characters."""
    texto = " ".join((texto or "").replace("\x00", "").split()) or None
    if texto and len(texto) > MOTIVO_MAX:
        raise InvalidInput(f"O motivo pode ter no máximo {MOTIVO_MAX} caracteres.")
    limpas: list[str] = []
    for tag in tags or ():
        tag = " ".join(str(tag).replace("\x00", "").replace(SEPARADOR, ",").split())
        if not tag or tag in limpas:
            continue
        if len(tag) > TAG_MAX:
            raise InvalidInput(f"Cada etiqueta pode ter no máximo {TAG_MAX} caracteres.")
        limpas.append(tag)
    if len(limpas) > TAGS_MAX:
        raise InvalidInput(f"Use no máximo {TAGS_MAX} etiquetas.")
    if len(SEPARADOR.join(limpas)) > MOTIVO_MAX:
        raise InvalidInput("Etiquetas longas demais.")
    return Motivo(texto, tuple(limpas))


def _usuario(usuario: str) -> str:
    usuario = (usuario or "").strip()
    if not usuario:
        raise InvalidInput("Informe quem está avaliando a conversa.")
    return usuario[:50]


def record_reason(session: Session, conversa_ids: list[int], usuario: str,
                  avaliado_em: dt.datetime, motivo: Motivo | None) -> None:
    """Attach `motivo` to the audit rows the rating of `conversa_ids` just wrote."""
    if motivo is None or (not motivo.texto and not motivo.tags) or not conversa_ids:
        return
    session.execute(
        update(AvaliacaoHistorico)
        .where(AvaliacaoHistorico.conversa_id.in_(conversa_ids),
               AvaliacaoHistorico.avaliado_por == usuario,
               AvaliacaoHistorico.avaliado_em == avaliado_em)
        .values(motivo=motivo.texto, tags=motivo.tags_texto)
        .execution_options(synchronize_session=False)
    )


def rate_many(session: Session, conversa_ids, avaliacao: str | None, usuario: str,
              motivo: Motivo | None = None) -> int:
    """Rate several conversas at once (None removes the rating); how many were found."""
    if avaliacao is not None and avaliacao not in AVALIACOES:
        raise InvalidInput(f"Avaliação inválida: '{avaliacao}'. Use boa, ruim ou nenhuma.")
    ids = sorted({int(i) for i in conversa_ids})  # key order: no deadlock between writers
    if not ids:
        raise InvalidInput("Selecione ao menos uma conversa.")
    usuario, agora = _usuario(usuario), utcnow()
    feitas = session.execute(
        update(Conversa).where(Conversa.id.in_(ids))
        .values(avaliacao=avaliacao, avaliado_em=agora, avaliado_por=usuario)
        .execution_options(synchronize_session=False)
    ).rowcount
    record_reason(session, ids, usuario, agora, motivo)
    return feitas


def accept_suggestions(session: Session, conversa_ids, usuario: str,
                       motivo: Motivo | None = None) -> dict[int, str]:
    """Rate each conversa as the analysis suggested; {conversa_id: rating} of those rated.

    Conversas without a suggested rating (not analysed, or no opinion) are left alone.
    The audit rows carry the tag 'sugestão aceita' (besides the admin's own reason).
    """
    ids = sorted({int(i) for i in conversa_ids})
    sugeridas = dict(session.execute(
        select(ConversaAnalise.conversa_id, ConversaAnalise.avaliacao_sugerida)
        .where(ConversaAnalise.conversa_id.in_(ids),
               ConversaAnalise.avaliacao_sugerida.is_not(None))).all()) if ids else {}
    motivo = motivo or Motivo()
    com_tag = make_reason(motivo.texto, (TAG_SUGESTAO_ACEITA, *motivo.tags))
    for avaliacao in AVALIACOES:
        grupo = [cid for cid, sugerida in sugeridas.items() if sugerida == avaliacao]
        if grupo:
            rate_many(session, grupo, avaliacao, usuario, com_tag)
    return sugeridas


# --- who rated what ------------------------------------------------------------------------

@dataclass(frozen=True)
class HistoricoAvaliacao:
    """One change of a conversa's rating, as the audit trail recorded it."""

    avaliado_em: dt.datetime | None
    avaliado_por: str | None
    anterior: str | None
    nova: str | None
    motivo: str | None
    tags: tuple[str, ...]


def rating_history(session: Session, conversa_id: int) -> list[HistoricoAvaliacao]:
    """Every rating change of one conversa, newest first."""
    rows = session.scalars(
        select(AvaliacaoHistorico).where(AvaliacaoHistorico.conversa_id == conversa_id)
        .order_by(AvaliacaoHistorico.id.desc()))
    return [HistoricoAvaliacao(r.avaliado_em, r.avaliado_por, r.avaliacao_anterior,
                               r.avaliacao_nova, r.motivo,
                               tuple(t for t in (r.tags or "").split(SEPARADOR) if t))
            for r in rows]


@dataclass(frozen=True)
class AvaliacoesDoDia:
    """What one admin rated on one local day."""

    usuario: str
    dia: dt.date
    avaliacoes: int = 0
    boas: int = 0
    ruins: int = 0
    com_sugestao: int = 0  # ratings of conversas the analysis has an opinion on
    concordam: int = 0  # ... equal to that opinion

    @property
    def concordancia(self) -> float | None:
        return self.concordam / self.com_sugestao if self.com_sugestao else None


def ratings_by_admin(session: Session, desde: dt.date, ate: dt.date | None = None,
                     usuario: str | None = None,
                     cliente_id: int | None = None) -> list[AvaliacoesDoDia]:
    """Ratings given (removals excluded) per admin and local day, newest day first, with
    how often they agree with the analysis' current suggestion for the conversa;
    optionally of one admin or of one cliente's conversas."""
    fim = local_midnight_utc((ate or local_day(utcnow())) + dt.timedelta(days=1))
    query = (
        select(AvaliacaoHistorico.avaliado_por, AvaliacaoHistorico.avaliado_em,
               AvaliacaoHistorico.avaliacao_nova, ConversaAnalise.avaliacao_sugerida)
        .outerjoin(ConversaAnalise, ConversaAnalise.conversa_id == AvaliacaoHistorico.conversa_id)
        .where(AvaliacaoHistorico.avaliado_em >= local_midnight_utc(desde),
               AvaliacaoHistorico.avaliado_em < fim,
               AvaliacaoHistorico.avaliacao_nova.is_not(None))
    )
    if usuario:
        query = query.where(AvaliacaoHistorico.avaliado_por == usuario)
    if cliente_id is not None:
        query = query.join(Conversa, Conversa.id == AvaliacaoHistorico.conversa_id).where(
            Conversa.cliente_id == cliente_id)
    contagem: dict[tuple[str, dt.date], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for por, em, nova, sugerida in session.execute(query):
        c = contagem[(por or "—", local_day(em))]
        c[0] += 1
        c[1] += nova == "boa"
        c[2] += nova == "ruim"
        c[3] += sugerida is not None
        c[4] += sugerida is not None and sugerida == nova
    linhas = [AvaliacoesDoDia(por, dia, *c) for (por, dia), c in contagem.items()]
    return sorted(linhas, key=lambda l: (-l.dia.toordinal(), l.usuario))
