"""Conversas: list, filter, search, paginate and rate.

Totals and rating counters come from the trigger-kept `conversas_resumo` rollup
whenever the filters are rollup dimensions (cliente, status, avaliação, day), so they
are exact and cost a few hundred rows at any size. Pages are read newest first by
start time through covering indexes; past the middle of the result the query runs
from the other end, so the last page is as cheap as the first.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from sqlalchemy import Boolean, ColumnElement, case, func, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from core.clock import local_midnight_utc, utcnow
from core.db.tables import (
    AVALIACOES,
    SEM_AVALIACAO,
    STATUS_CONVERSA,
    Cliente,
    Conversa,
    ConversaResumo,
    Mensagem,
)
from core.db.tables_busca import ConversaBusca
from core.errors import InvalidInput, NotFound
from core.ingest.phones import format_whatsapp
from core.review.ratings import Motivo, record_reason
from core.review.search_index import HL_END, HL_START, query_stems

SEARCH_CAP = 10_000
PRIMEIRAS_MENSAGENS = 3
FILTROS_AVALIACAO = (*AVALIACOES, SEM_AVALIACAO)


@dataclass(frozen=True)
class MensagemLinha:
    id: int
    role: str
    conteudo: str
    enviada_em: dt.datetime


@dataclass(frozen=True)
class ConversaLinha:
    """One card of the list: what the admin needs to decide without opening it."""

    id: int
    cliente_id: int
    cliente_nome: str
    whatsapp: str  # formatted for reading, e.g. '+55 11 98765-4321'
    contato_nome: str | None
    iniciada_em: dt.datetime
    ultima_mensagem_em: dt.datetime
    status: str
    avaliacao: str | None
    avaliado_em: dt.datetime | None
    avaliado_por: str | None
    modelo_usado: str | None
    total_mensagens: int
    primeiras_mensagens: list[MensagemLinha] = field(default_factory=list)
    # With a word search: the matching part of the conversa, each matched word between
    # HL_START and HL_END (core.review.search_index); the text itself is never markup.
    trecho: str | None = None


@dataclass(frozen=True)
class ConversaDetalhe:
    conversa: ConversaLinha
    mensagens: list[MensagemLinha]


@dataclass(frozen=True)
class ConversasPage:
    conversas: list[ConversaLinha]
    total: int
    page: int
    pages: int
    total_exato: bool = True
    por_pagina: int = 20


@dataclass(frozen=True)
class Avaliacao:
    """A conversa's rating after a change."""

    conversa_id: int
    avaliacao: str | None
    avaliado_em: dt.datetime | None
    avaliado_por: str | None


@dataclass(frozen=True)
class _Filtros:
    cliente_id: int | None = None
    status: str | None = None
    avaliacao: str | None = None
    desde: dt.date | None = None
    ate: dt.date | None = None
    busca: str | None = None
    condicao: ColumnElement[bool] | None = None

    @property
    def rollup_ok(self) -> bool:
        """True when the rollup alone answers counts for these filters."""
        return not self.busca and self.condicao is None


def _validate_filters(cliente_id=None, status=None, avaliacao=None, desde=None, ate=None,
                      busca=None, condicao=None) -> _Filtros:
    if status is not None and status not in STATUS_CONVERSA:
        raise InvalidInput(f"Status inválido: '{status}'. Use ativa, finalizada ou aguardando.")
    if avaliacao is not None and avaliacao not in FILTROS_AVALIACAO:
        raise InvalidInput(f"Avaliação inválida: '{avaliacao}'. Use boa, ruim ou sem.")
    if desde and ate and desde > ate:
        raise InvalidInput("Período inválido: a data inicial é depois da data final.")
    # PostgreSQL text cannot hold NUL, and no stored message contains one.
    busca = (busca or "").replace("\x00", "").strip() or None
    return _Filtros(cliente_id, status, avaliacao, desde, ate, busca, condicao)


# --- conditions ---------------------------------------------------------------------------

def _conversa_conditions(session: Session, f: _Filtros) -> list[ColumnElement[bool]]:
    """WHERE conditions on `conversas` for every filter, search included."""
    conds = _filter_conditions(Conversa, f)
    if f.busca:
        conds.append(_search_condition(session, f.busca))
    if f.condicao is not None:
        conds.append(f.condicao)
    return conds


def _filter_conditions(table, f: _Filtros) -> list[ColumnElement[bool]]:
    """Cliente, status, avaliação and period on `conversas` or its copy `conversas_busca`."""
    conds: list[ColumnElement[bool]] = []
    if f.cliente_id is not None:
        conds.append(table.cliente_id == f.cliente_id)
    if f.status:
        conds.append(table.status == f.status)
    if f.avaliacao == SEM_AVALIACAO:
        conds.append(table.avaliacao.is_(None))
    elif f.avaliacao:
        conds.append(table.avaliacao == f.avaliacao)
    # `dia` is the local day of iniciada_em (the writer sets both), so the period is the
    # equivalent instant range: the covering indexes on iniciada_em serve it without
    # reading the table, and it selects exactly the rows the rollup counts by `dia`.
    if f.desde:
        conds.append(table.iniciada_em >= local_midnight_utc(f.desde))
    if f.ate:
        conds.append(table.iniciada_em < local_midnight_utc(f.ate + dt.timedelta(days=1)))
    return conds


def _rollup_conditions(f: _Filtros) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.cliente_id is not None:
        conds.append(ConversaResumo.cliente_id == f.cliente_id)
    if f.status:
        conds.append(ConversaResumo.status == f.status)
    if f.avaliacao:
        conds.append(ConversaResumo.avaliacao == f.avaliacao)
    if f.desde:
        conds.append(ConversaResumo.dia >= f.desde)
    if f.ate:
        conds.append(ConversaResumo.dia <= f.ate)
    return conds


def _search_condition(session: Session, busca: str) -> ColumnElement[bool]:
    """Full-text match on the conversa's words; a literal substring when there are none.

    The text is always a bound parameter and never parsed as query syntax: PostgreSQL
    gets it through plainto_tsquery, FTS5 gets each word as a quoted string.
    """
    if session.get_bind().dialect.name == "postgresql":
        tsquery = _pg_tsquery(busca)
        # Only punctuation, emoji or stop words: no lexeme to look for.
        if session.scalar(select(func.numnode(tsquery))):
            return Conversa.id.in_(
                select(ConversaBusca.conversa_id).where(ConversaBusca.documento.op("@@", return_type=Boolean)(tsquery))
            )
        return _substring_condition(func.strpos, busca)
    stems = query_stems(busca)
    if not stems:
        return _substring_condition(func.instr, busca)
    # The FTS index holds the stem of each word (core.review.search_index): every word of
    # the search, in any order and any form ("entregas" finds "entrega").
    return Conversa.id.in_(
        select(literal_column("rowid")).select_from(text("conversas_fts"))
        .where(text("conversas_fts MATCH :fts_match").bindparams(fts_match=_fts_match(stems)))
    )


def _fts_match(stems: list[str]) -> str:
    return " ".join(f'"{s}"' for s in stems)


def _pg_tsquery(busca: str):
    return func.plainto_tsquery("portuguese", func.curadoria_unaccent(busca))


def _substring_condition(position, busca: str) -> ColumnElement[bool]:
    """Conversas with a message containing the text exactly (case-insensitive)."""
    return Conversa.id.in_(
        select(Mensagem.conversa_id).where(
            position(func.lower(Mensagem.conteudo), busca.lower()) > 0
        )
    )


# --- listing ------------------------------------------------------------------------------

def list_conversations(session: Session, *, cliente_id: int | None = None,
                       status: str | None = None, avaliacao: str | None = None,
                       desde: dt.date | None = None, ate: dt.date | None = None,
                       busca: str | None = None, condicao: ColumnElement[bool] | None = None,
                       page: int = 1, por_pagina: int = 20) -> ConversasPage:
    """One page of conversas, newest first, with the total for the filters."""
    f = _validate_filters(cliente_id, status, avaliacao, desde, ate, busca, condicao)
    por_pagina = max(1, min(int(por_pagina), 100))
    source = _source(session, f)
    matches = _search_matches(session, source, min(max(1, int(page)) * por_pagina, SEARCH_CAP))
    if matches is not None and matches[0] <= SEARCH_CAP:
        # Few matches: counted and the first pages sorted in one statement (_search_matches).
        total, exato = matches[0], True
    else:
        total, exato = _count(session, f, source) if matches is None else (SEARCH_CAP, False)
    pages = max(1, -(-total // por_pagina))
    page = max(1, min(int(page), pages))
    offset = (page - 1) * por_pagina
    if matches is not None and exato:
        # The clamped page never ends past the requested one: its ids are in hand.
        ids = matches[1][offset:offset + por_pagina]
    else:
        ids = _page_ids(session, _walking(source) if matches is not None else source, offset,
                        por_pagina, total if exato else None)
    conversas = _rows(session, ids)
    if f.busca and conversas:
        trechos = _snippets(session, ids, f.busca)
        conversas = [replace(c, trecho=trechos.get(c.id)) for c in conversas]
    return ConversasPage(conversas=conversas, total=total, page=page, pages=pages,
                         total_exato=exato, por_pagina=por_pagina)


_PG_STAND_INS = "\ue002\ue003"
_PG_PUT_BACK = str.maketrans(_PG_STAND_INS, "<&")
SNIPPET_OPTIONS = (f'StartSel="{HL_START}", StopSel="{HL_END}", MaxWords=24, MinWords=8, '
                   'MaxFragments=2, FragmentDelimiter=" … "')


def _snippets(session: Session, ids: list[int], busca: str) -> dict[int, str]:
    """conversa id -> the part of its text that matches, matched words between markers."""
    if session.get_bind().dialect.name == "postgresql":
        if not session.scalar(select(func.numnode(_pg_tsquery(busca)))):
            return {}
        rows = session.execute(text(
            "SELECT conversa_id, ts_headline('curadoria_pt', translate(left(string_agg("
            "conteudo, ' ' ORDER BY enviada_em, id), 200000), :src, :dst), "
            "plainto_tsquery('portuguese', curadoria_unaccent(:busca)), :options) "
            "FROM mensagens WHERE conversa_id = ANY(:ids) GROUP BY conversa_id"),
            {"src": "<&" + _PG_STAND_INS + HL_START + HL_END, "dst": _PG_STAND_INS,
             "busca": busca, "options": SNIPPET_OPTIONS, "ids": ids})
        # ts_headline drops what its parser takes for HTML tags and entities: it is given
        # stand-ins for < and &, put back here.
        rows = [(i, t and t.translate(_PG_PUT_BACK)) for i, t in rows]
    else:
        stems = query_stems(busca)
        if not stems:
            return {}
        rows = session.execute(text(
            "SELECT rowid, snippet(conversas_fts, 0, :start, :end, '…', 24) FROM conversas_fts "
            f"WHERE conversas_fts MATCH :m AND rowid IN ({', '.join(str(int(i)) for i in ids)})"),
            {"start": HL_START, "end": HL_END, "m": _fts_match(stems)})
    return {conversa_id: trecho for conversa_id, trecho in rows if trecho}


@dataclass(frozen=True)
class _Source:
    """Where a page is read from: an id column, its start-time column and conditions."""

    id: ColumnElement
    iniciada_em: ColumnElement
    conds: list


def _source(session: Session, f: _Filtros) -> _Source:
    # A PostgreSQL word search is answered from conversas_busca alone (it carries copies
    # of the filter columns): no join back to conversas for thousands of matches.
    if f.busca and f.condicao is None and session.get_bind().dialect.name == "postgresql":
        tsquery = _pg_tsquery(f.busca)
        if session.scalar(select(func.numnode(tsquery))):
            return _Source(ConversaBusca.conversa_id, ConversaBusca.iniciada_em,
                           [ConversaBusca.documento.op("@@", return_type=Boolean)(tsquery),
                            *_filter_conditions(ConversaBusca, f)])
    return _Source(Conversa.id, Conversa.iniciada_em, _conversa_conditions(session, f))


def _search_matches(session: Session, source: _Source, upto: int) -> tuple[int, list[int]] | None:
    """For a PostgreSQL word search: (matches capped at SEARCH_CAP + 1, the ids of the first
    `upto` of them newest first when there are at most SEARCH_CAP, else []).

    One bitmap scan of the GIN index reads the capped matches into a CTE; PostgreSQL counts
    them and, when they are few, sorts only the first `upto` (a top-N sort), so one row
    comes back instead of thousands. Ordering the scan itself in SQL instead lets the
    planner walk the time index hoping to meet 20 matches early, and read every row when
    the words never occur together. Many matches keep that walk, which then stops early.
    """
    if source.id is not ConversaBusca.conversa_id:
        return None
    found = (select(source.id.label("id"), source.iniciada_em.label("t"))
             .where(*source.conds).limit(SEARCH_CAP + 1).cte("found"))
    first = (select(found.c.id, found.c.t).order_by(found.c.t.desc(), found.c.id.desc())
             .limit(max(1, upto)).subquery("first"))
    total = select(func.count()).select_from(found).scalar_subquery()
    ids = select(func.array_agg(aggregate_order_by(first.c.id, first.c.t.desc(), first.c.id.desc()))
                 ).scalar_subquery()
    row = session.execute(select(total, case((total <= SEARCH_CAP, ids)))).one()
    return row[0], list(row[1] or [])


def _walking(source: _Source) -> _Source:
    """More than SEARCH_CAP matches: the page is read by walking the start-time index and
    testing each row, which meets 20 matches within a few thousand rows. The test is
    written so that the GIN index cannot serve it: the planner underestimates matches of
    several words that occur together (it multiplies their frequencies) and would read
    and sort every match instead."""
    match, *rest = source.conds
    return _Source(source.id, source.iniciada_em, [match.is_(True), *rest])


def _count(session: Session, f: _Filtros, source: _Source) -> tuple[int, bool]:
    if f.rollup_ok:
        total = session.scalar(
            select(func.coalesce(func.sum(ConversaResumo.total), 0)).where(*_rollup_conditions(f))
        )
        return int(total), True
    if f.busca and f.condicao is None:
        capped = select(source.id).where(*source.conds).limit(SEARCH_CAP + 1).subquery()
        total = session.scalar(select(func.count()).select_from(capped))
        return (SEARCH_CAP, False) if total > SEARCH_CAP else (total, True)
    return session.scalar(select(func.count()).select_from(Conversa).where(*source.conds)), True


def _page_ids(session: Session, source: _Source, offset: int, limit: int,
              total: int | None) -> list[int]:
    """Ids of one page, newest first; deep pages are read from the oldest end."""
    if total is not None and offset > total // 2:
        limit = max(0, min(limit, total - offset))
        offset = max(0, total - offset - limit)
        query = (select(source.id).where(*source.conds)
                 .order_by(source.iniciada_em.asc(), source.id.asc()).offset(offset).limit(limit))
        return list(reversed(session.scalars(query).all()))
    query = (select(source.id).where(*source.conds)
             .order_by(source.iniciada_em.desc(), source.id.desc()).offset(offset).limit(limit))
    return list(session.scalars(query))


def _rows(session: Session, ids: list[int]) -> list[ConversaLinha]:
    if not ids:
        return []
    query = (select(Conversa, Cliente.nome).join(Cliente, Cliente.id == Conversa.cliente_id)
             .where(Conversa.id.in_(ids)).execution_options(populate_existing=True))
    by_id = {c.id: (c, nome) for c, nome in session.execute(query)}
    primeiras = _first_messages(session, ids)
    return [_linha(*by_id[i], primeiras.get(i, [])) for i in ids if i in by_id]


def _first_messages(session: Session, ids: list[int]) -> dict[int, list[MensagemLinha]]:
    numbered = select(
        Mensagem.id, Mensagem.conversa_id, Mensagem.role, Mensagem.conteudo, Mensagem.enviada_em,
        func.row_number().over(partition_by=Mensagem.conversa_id,
                               order_by=(Mensagem.enviada_em, Mensagem.id)).label("n"),
    ).where(Mensagem.conversa_id.in_(ids)).subquery()
    result: dict[int, list[MensagemLinha]] = {}
    query = (select(numbered).where(numbered.c.n <= PRIMEIRAS_MENSAGENS)
             .order_by(numbered.c.conversa_id, numbered.c.n))
    for row in session.execute(query):
        result.setdefault(row.conversa_id, []).append(
            MensagemLinha(row.id, row.role, row.conteudo, row.enviada_em))
    return result


def _linha(c: Conversa, cliente_nome: str, primeiras: list[MensagemLinha]) -> ConversaLinha:
    return ConversaLinha(
        id=c.id, cliente_id=c.cliente_id, cliente_nome=cliente_nome,
        whatsapp=format_whatsapp(c.whatsapp), contato_nome=c.contato_nome,
        iniciada_em=c.iniciada_em, ultima_mensagem_em=c.ultima_mensagem_em, status=c.status,
        avaliacao=c.avaliacao, avaliado_em=c.avaliado_em, avaliado_por=c.avaliado_por,
        modelo_usado=c.modelo_usado, total_mensagens=c.total_mensagens,
        primeiras_mensagens=primeiras,
    )


# --- counters -----------------------------------------------------------------------------

def count_ratings(session: Session, *, cliente_id: int | None = None, status: str | None = None,
                  avaliacao: str | None = None, desde: dt.date | None = None,
                  ate: dt.date | None = None, busca: str | None = None,
                  condicao: ColumnElement[bool] | None = None) -> dict[str, int]:
    """Exact {'boa', 'ruim', 'sem'} counts for the filters (rollup when it can answer)."""
    f = _validate_filters(cliente_id, status, avaliacao, desde, ate, busca, condicao)
    counts = dict.fromkeys(FILTROS_AVALIACAO, 0)
    if f.rollup_ok:
        query = (select(ConversaResumo.avaliacao, func.sum(ConversaResumo.total))
                 .where(*_rollup_conditions(f)).group_by(ConversaResumo.avaliacao))
    else:
        source = _source(session, f)
        table = ConversaBusca if source.id is ConversaBusca.conversa_id else Conversa
        key = func.coalesce(table.avaliacao, SEM_AVALIACAO)
        query = select(key, func.count()).select_from(table).where(*source.conds).group_by(key)
    for key, total in session.execute(query):
        counts[key] = int(total or 0)
    return counts


# --- one conversa -------------------------------------------------------------------------

def get_conversation(session: Session, conversa_id: int) -> ConversaDetalhe:
    """A conversa with all its messages in order."""
    row = session.execute(
        select(Conversa, Cliente.nome).join(Cliente, Cliente.id == Conversa.cliente_id)
        .where(Conversa.id == conversa_id).execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise NotFound(f"Conversa {conversa_id} não encontrada.")
    mensagens = [
        MensagemLinha(m.id, m.role, m.conteudo, m.enviada_em)
        for m in session.scalars(select(Mensagem).where(Mensagem.conversa_id == conversa_id)
                                 .order_by(Mensagem.enviada_em, Mensagem.id))
    ]
    return ConversaDetalhe(conversa=_linha(row[0], row[1], mensagens[:PRIMEIRAS_MENSAGENS]),
                           mensagens=mensagens)


def rate_conversation(session: Session, conversa_id: int, avaliacao: str | None,
                      usuario: str, motivo: Motivo | None = None) -> Avaliacao:
    """Set (or with None remove) a conversa's rating; the last write wins.

    The audit trail and the counters are kept by database triggers; `motivo` (from
    core.review.ratings.make_reason) is added to the audit row.
    """
    if avaliacao is not None and avaliacao not in AVALIACOES:
        raise InvalidInput(f"Avaliação inválida: '{avaliacao}'. Use boa, ruim ou nenhuma.")
    usuario = (usuario or "").strip()
    if not usuario:
        raise InvalidInput("Informe quem está avaliando a conversa.")
    agora = utcnow()
    updated = session.execute(
        update(Conversa).where(Conversa.id == conversa_id)
        .values(avaliacao=avaliacao, avaliado_em=agora, avaliado_por=usuario[:50])
    )
    if updated.rowcount == 0:
        raise NotFound(f"Conversa {conversa_id} não encontrada.")
    record_reason(session, [conversa_id], usuario[:50], agora, motivo)
    return Avaliacao(conversa_id, avaliacao, agora, usuario[:50])
