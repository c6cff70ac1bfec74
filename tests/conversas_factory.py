"""Test data for the conversation list: clientes and conversas with their messages."""
from __future__ import annotations

import datetime as dt
import itertools

from core.clock import local_day
from core.db import session_scope
from core.db.tables import Cliente, Conversa, Mensagem
from core.review.search_index import refresh_all

_seq = itertools.count(1)
BASE = dt.datetime(2026, 11, 10, 15, 0)


def add_cliente(session, slug: str = "loja", nome: str = "Loja Exemplo") -> Cliente:
    cliente = Cliente(slug=slug, nome=nome)
    session.add(cliente)
    session.flush()
    return cliente


def add_conversa(session, cliente: Cliente, mensagens: list[str] | None = None, *,
                 inicio: dt.datetime | None = None, status: str = "finalizada",
                 avaliacao: str | None = None, whatsapp: str | None = None,
                 modelo: str = "gpt-4.1-mini-2025-04-14") -> Conversa:
    """A conversa whose messages alternate user / assistant, one minute apart."""
    n = next(_seq)
    inicio = inicio or BASE + dt.timedelta(minutes=n)
    mensagens = mensagens or ["Oi, tudo bem?", "Olá! Como posso ajudar?"]
    conversa = Conversa(
        cliente_id=cliente.id, whatsapp=whatsapp or f"55119{n:08d}", iniciada_em=inicio,
        ultima_mensagem_em=inicio + dt.timedelta(minutes=len(mensagens)), dia=local_day(inicio),
        status=status, avaliacao=avaliacao, modelo_usado=modelo, total_mensagens=len(mensagens),
    )
    session.add(conversa)
    session.flush()
    for i, conteudo in enumerate(mensagens):
        session.add(Mensagem(
            conversa_id=conversa.id, cliente_id=cliente.id,
            role="user" if i % 2 == 0 else "assistant", conteudo=conteudo,
            enviada_em=inicio + dt.timedelta(minutes=i), redis_key=f"conversation:{n}:{i}",
        ))
    session.flush()
    refresh_all(session.connection())  # what the import and the poller do after writing
    return conversa


def seed_engine(engine, builder) -> None:
    """Run builder(session) in its own committed transaction."""
    with session_scope(engine) as session:
        builder(session)
