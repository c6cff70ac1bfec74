"""Clientes: the business clients, their settings and the home overview."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clientes.redis_source import validate_source
from core.db.tables import Cliente, Conversa, ConversaResumo, SEM_AVALIACAO
from core.errors import InvalidInput, NotFound

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_NOME = 120
MAX_SYSTEM_PROMPT = 20_000


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
    if {"redis_url", "redis_db", "redis_prefix"} & fields.keys():
        fields["redis_url"], fields["redis_db"], fields["redis_prefix"] = validate_source(
            fields.get("redis_url"), fields.get("redis_db"), fields.get("redis_prefix"))
    cliente = Cliente(slug=slug, nome=validate_nome(nome or slug), **fields)
    session.add(cliente)
    session.flush()
    return cliente


def validate_nome(nome: str | None) -> str:
    nome = " ".join((nome or "").split())
    if not nome:
        raise InvalidInput("Informe o nome do cliente.")
    if len(nome) > MAX_NOME:
        raise InvalidInput(f"Nome do cliente longo demais: até {MAX_NOME} caracteres.")
    return nome


@dataclass(frozen=True)
class ClienteDados:
    """What the Clientes page edits: name, slug, Redis source, system prompt."""

    nome: str
    slug: str
    redis_url: str | None = None
    redis_db: int = 0
    redis_prefix: str = ""
    system_prompt: str = ""


def save_cliente(session: Session, dados: ClienteDados, cliente_id: int | None = None) -> Cliente:
    """Create a cliente (cliente_id None) or change one, with the command line's checks
    (slug, Redis source) and a pt-BR InvalidInput for anything wrong; an empty slug is
    made from the name."""
    nome = validate_nome(dados.nome)
    slug = validate_slug(dados.slug.strip() or slugify(nome))
    redis_url, redis_db, redis_prefix = validate_source(dados.redis_url, dados.redis_db,
                                                        dados.redis_prefix)
    system_prompt = (dados.system_prompt or "").strip()
    if len(system_prompt) > MAX_SYSTEM_PROMPT:
        raise InvalidInput(f"System prompt longo demais: até {MAX_SYSTEM_PROMPT:,} caracteres."
                           .replace(",", "."))
    outro = session.scalar(select(Cliente.id).where(Cliente.slug == slug))
    if outro is not None and outro != cliente_id:
        raise InvalidInput(f"Já existe um cliente '{slug}'.")
    if cliente_id is None:
        return create_cliente(session, slug, nome, redis_url=redis_url, redis_db=redis_db,
                              redis_prefix=redis_prefix, system_prompt=system_prompt)
    cliente = get_cliente_by_id(session, cliente_id)
    cliente.nome, cliente.slug, cliente.system_prompt = nome, slug, system_prompt
    cliente.redis_url, cliente.redis_db, cliente.redis_prefix = redis_url, redis_db, redis_prefix
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
