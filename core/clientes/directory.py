"""Clientes: the business clients, their settings and the home overview."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db.tables import Cliente, Conversa, ConversaResumo, SEM_AVALIACAO
from core.errors import InvalidInput, NotFound

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(nome: str) -> str:
    """'Padaria Pão Dourado' -> 'padaria-pao-dourado'."""
    ascii_ = unicodedata.normalize("NFKD", nome).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")


def validate_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not _SLUG.match(slug) or len(slug) > 60:
        raise InvalidInput(
            f"Identificador de cliente inválido: '{slug}'. Use letras minúsculas, números e hífens "
            "(ex.: padaria-pao-dourado)."
        )
    return slug


def get_cliente(session: Session, slug: str) -> Cliente:
    """The cliente with this slug, or a NotFound with a pt-BR message."""
    cliente = session.scalar(select(Cliente).where(Cliente.slug == slug.strip().lower()))
    if cliente is None:
        raise NotFound(f"Cliente '{slug}' não encontrado.")
    return cliente


def get_cliente_by_id(session: Session, cliente_id: int) -> Cliente:
    cliente = session.get(Cliente, cliente_id)
    if cliente is None:
        raise NotFound(f"Cliente {cliente_id} não encontrado.")
    return cliente


def list_clientes(session: Session) -> list[Cliente]:
    return list(session.scalars(select(Cliente).order_by(Cliente.nome)))


def create_cliente(session: Session, slug: str, nome: str | None = None, **fields) -> Cliente:
    """Add a cliente; the slug is its stable identifier (CLI, URLs, model suffix)."""
    slug = validate_slug(slug)
    if session.scalar(select(Cliente.id).where(Cliente.slug == slug)):
        raise InvalidInput(f"Já existe um cliente '{slug}'.")
    cliente = Cliente(slug=slug, nome=(nome or slug).strip(), **fields)
    session.add(cliente)
    session.flush()
    return cliente


def ensure_cliente(session: Session, slug: str, nome: str | None = None, **fields) -> Cliente:
    """The cliente with this slug, created when it does not exist yet."""
    slug = validate_slug(slug)
    cliente = session.scalar(select(Cliente).where(Cliente.slug == slug))
    return cliente or create_cliente(session, slug, nome, **fields)


@dataclass(frozen=True)
class ClienteResumo:
    """One line of the home overview."""

    cliente_id: int
    nome: str
    slug: str
    conversas: int
    avaliadas: int
    boas: int
    ruins: int
    ultima_mensagem_em: dt.datetime | None
    modelo_em_uso: str


def summarize_clientes(session: Session) -> list[ClienteResumo]:
    """Per cliente: conversas, rated, last message time (from the trigger-kept rollup)."""
    counts = {
        row.cliente_id: row
        for row in session.execute(
            select(
                ConversaResumo.cliente_id,
                func.sum(ConversaResumo.total).label("total"),
                func.sum(ConversaResumo.total).filter(ConversaResumo.avaliacao == "boa").label("boas"),
                func.sum(ConversaResumo.total).filter(ConversaResumo.avaliacao == "ruim").label("ruins"),
            ).group_by(ConversaResumo.cliente_id)
        )
    }
    result = []
    for cliente in list_clientes(session):
        row = counts.get(cliente.id)
        boas, ruins = int(row.boas or 0) if row else 0, int(row.ruins or 0) if row else 0
        result.append(ClienteResumo(
            cliente_id=cliente.id, nome=cliente.nome, slug=cliente.slug,
            conversas=int(row.total or 0) if row else 0, avaliadas=boas + ruins,
            boas=boas, ruins=ruins, ultima_mensagem_em=_last_message(session, cliente.id),
            modelo_em_uso=cliente.modelo_ativo or cliente.modelo_base,
        ))
    return result


def _last_message(session: Session, cliente_id: int) -> dt.datetime | None:
    # Served by ix_conversas_cliente_ultima: one index probe per cliente.
    return session.scalar(
        select(func.max(Conversa.ultima_mensagem_em)).where(Conversa.cliente_id == cliente_id)
    )


def rebuild_resumo(session: Session) -> None:
    """Recompute conversas_resumo from conversas (repair; the triggers keep it exact)."""
    session.execute(ConversaResumo.__table__.delete())
    avaliacao = func.coalesce(Conversa.avaliacao, SEM_AVALIACAO)
    session.execute(
        ConversaResumo.__table__.insert().from_select(
            ["cliente_id", "dia", "status", "avaliacao", "total"],
            select(Conversa.cliente_id, Conversa.dia, Conversa.status, avaliacao, func.count())
            .group_by(Conversa.cliente_id, Conversa.dia, Conversa.status, avaliacao),
        )
    )
