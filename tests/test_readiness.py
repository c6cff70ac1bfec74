"""Readiness at the edges of each threshold (seed CT5), counted by the database."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from core.clientes.directory import create_cliente
from core.db.tables import Conversa
from core.review.readiness import get_readiness


def _conversas(session, cliente, boas, ruins, sem=0):
    start = dt.datetime(2026, 11, 1, 12)
    for i, avaliacao in enumerate(["boa"] * boas + ["ruim"] * ruins + [None] * sem):
        when = start + dt.timedelta(minutes=i)
        session.add(Conversa(cliente_id=cliente.id, whatsapp=f"55119{i:08d}", iniciada_em=when,
                             ultima_mensagem_em=when, dia=when.date(), status="finalizada",
                             avaliacao=avaliacao))
    session.flush()


@pytest.mark.parametrize(("boas", "ruins", "pronto", "faltas"), [
    (30, 10, False, 1),   # 40 marked < 50
    (39, 10, False, 1),   # 49 marked
    (40, 10, True, 0),    # 50 marked
    (29, 21, False, 1),   # 29 good
    (41, 9, False, 1),    # 9 bad
    (0, 0, False, 3),
])
def test_readiness_at_the_thresholds(session, boas, ruins, pronto, faltas):
    cliente = create_cliente(session, "loja")
    _conversas(session, cliente, boas, ruins, sem=5)
    readiness = get_readiness(session, cliente.id)
    assert (readiness.boas, readiness.ruins) == (boas, ruins)
    assert readiness.pronto is pronto
    assert len(readiness.faltando) == faltas
    assert (readiness.motivo == "") is pronto


def test_readiness_sees_ratings_written_by_plain_sql(session):
    cliente = create_cliente(session, "loja")
    _conversas(session, cliente, 0, 0, sem=60)
    session.execute(update(Conversa).where(Conversa.id <= 40).values(avaliacao="boa"))
    session.execute(update(Conversa).where(Conversa.id > 50).values(avaliacao="ruim"))
    readiness = get_readiness(session, cliente.id)
    assert (readiness.marcadas, readiness.boas, readiness.ruins) == (50, 40, 10)
    assert readiness.pronto
