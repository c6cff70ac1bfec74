"""The start of the admin's day (Visão geral): per cliente, what waits for review, the
ratings of the last 7 days and whether fine-tuning can start.

Counts come from the trigger-kept rollup (`conversas_resumo`) and the audit trail
(`avaliacoes_historico`, written by a trigger for any writer), so ratings written
directly in SQL are counted too.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clientes.directory import summarize_clientes
from core.clock import local_day, local_midnight_utc, utcnow
from core.db.tables import AvaliacaoHistorico, Conversa
from core.review.readiness import Readiness, get_readiness

DAYS = 7


@dataclass(frozen=True)
class ClienteDoDia:
    """One cliente's line of the start of the day."""

    cliente_id: int
    nome: str
    slug: str
    conversas: int
    aguardando: int  # conversas without a rating
    boas: int
    ruins: int
    avaliacoes_7_dias: int  # ratings given in the last 7 days (re-ratings count again)
    prontidao: Readiness
    ultima_mensagem_em: dt.datetime | None
    modelo_em_uso: str


@dataclass(frozen=True)
class InicioDoDia:
    clientes: list[ClienteDoDia]
    # the last 7 local days, oldest first: (day, ratings given that day)
    avaliacoes_por_dia: list[tuple[dt.date, int]]

    @property
    def aguardando(self) -> int:
        return sum(c.aguardando for c in self.clientes)

    @property
    def avaliacoes_7_dias(self) -> int:
        return sum(n for _, n in self.avaliacoes_por_dia)

    @property
    def prontos(self) -> int:
        return sum(1 for c in self.clientes if c.prontidao.pronto)


def start_of_day(session: Session, now: dt.datetime | None = None) -> InicioDoDia:
    """Every cliente's queue, recent ratings and readiness; the ratings per day."""
    now = now or utcnow()
    hoje = local_day(now)
    dias = [hoje - dt.timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    limites = [local_midnight_utc(d) for d in dias] + [local_midnight_utc(hoje + dt.timedelta(days=1))]
    quando = AvaliacaoHistorico.registrado_em
    por_dia = [func.count().filter(quando >= limites[i], quando < limites[i + 1])
               for i in range(DAYS)]
    rows = session.execute(
        select(Conversa.cliente_id, *por_dia)
        .join(Conversa, Conversa.id == AvaliacaoHistorico.conversa_id)
        .where(quando >= limites[0], quando < limites[-1],
               AvaliacaoHistorico.avaliacao_nova.is_not(None))
        .group_by(Conversa.cliente_id)
    ).all()
    recentes = {row[0]: [int(n or 0) for n in row[1:]] for row in rows}
    totais_dia = [sum(v[i] for v in recentes.values()) for i in range(DAYS)]
    clientes = [
        ClienteDoDia(
            cliente_id=r.cliente_id, nome=r.nome, slug=r.slug, conversas=r.conversas,
            aguardando=r.conversas - r.avaliadas, boas=r.boas, ruins=r.ruins,
            avaliacoes_7_dias=sum(recentes.get(r.cliente_id, ())),
            prontidao=get_readiness(session, r.cliente_id),
            ultima_mensagem_em=r.ultima_mensagem_em, modelo_em_uso=r.modelo_em_uso,
        )
        for r in summarize_clientes(session)
    ]
    return InicioDoDia(clientes=clientes, avaliacoes_por_dia=list(zip(dias, totais_dia)))
