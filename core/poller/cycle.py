"""One poller cycle: import from Redis, analyse, check the fine-tuning jobs, notify.

`poller.py` only loops around `run_cycle`; everything it does lives here so that tests
and other entry points run exactly the same code. Every step is guarded: a step that
fails is logged and the next one still runs.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.review.analysis import analyze_pending
from core.clock import utcnow
from core.config import get_settings
from core.db import session_scope
from core.ingest.pipeline import ingest_all
from core.finetune.follow import CheckSummary, ProviderFactory, check_jobs, poller_name
from core.finetune.rollout import deploy_pending
from core.finetune.shutdown_dates import refresh_shutdown_dates
from core.finetune.sunset import guard_shutdowns
from core.logs import log_event
from core.finetune.deploy import sync_models_to_redis
from core.db.tables import PollerHeartbeat
from core.poller.notify import deliver_webhooks

logger = logging.getLogger("curadoria.poller")


@dataclass
class CycleSummary:
    """What one cycle did (also stored in the heartbeat row)."""

    iniciado_em: dt.datetime
    concluido_em: dt.datetime | None = None
    importacao: str = "não executada"
    analise: str = "não executada"
    jobs: CheckSummary = field(default_factory=CheckSummary)
    redis_modelos: int = 0
    desligamento: str = "não executado"
    webhooks_enviados: int = 0
    webhooks_falhas: int = 0
    erros: list[str] = field(default_factory=list)


def record_heartbeat(engine: Engine, nome: str, *, iniciado: dt.datetime | None = None,
                     concluido: dt.datetime | None = None, intervalo: int | None = None,
                     resumo: str | None = None) -> None:
    """Upsert this poller's row: the dashboard shows `visto_em`."""
    values = {"nome": nome, "visto_em": utcnow()}
    if iniciado is not None:
        values["ciclo_iniciado_em"] = iniciado
    if concluido is not None:
        values["ciclo_concluido_em"] = concluido
    if intervalo is not None:
        values["intervalo_segundos"] = intervalo
    if resumo is not None:
        values["resumo"] = resumo
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(PollerHeartbeat).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=["nome"],
                                      set_={k: v for k, v in values.items() if k != "nome"})
    with session_scope(engine) as session:
        session.execute(stmt)


@dataclass(frozen=True)
class PollerStatus:
    nome: str
    visto_em: dt.datetime
    ciclo_concluido_em: dt.datetime | None
    intervalo_segundos: int | None
    resumo: str

    def atrasado(self, now: dt.datetime | None = None) -> bool:
        """Not seen for more than two intervals (or an hour without an interval)."""
        limite = dt.timedelta(seconds=2 * (self.intervalo_segundos or 1800) + 60)
        return (now or utcnow()) - self.visto_em > limite


def get_poller_status(session: Session) -> PollerStatus | None:
    """The most recently seen poller, or None when no poller ever ran."""
    row = session.scalars(select(PollerHeartbeat).order_by(PollerHeartbeat.visto_em.desc())
                          .limit(1)).first()
    if row is None:
        return None
    return PollerStatus(row.nome, row.visto_em, row.ciclo_concluido_em, row.intervalo_segundos,
                        row.resumo)


def run_ingest(engine: Engine) -> str:
    """Import new conversations for every cliente with a Redis source of its own."""
    resumos = ingest_all(engine) or []
    for resumo in resumos:
        fields = {k: v for k, v in asdict(resumo).items()
                  if isinstance(v, (str, int, float, type(None))) and k != "iniciada_em"}
        fields["rejeitadas"] = resumo.total_rejeitadas
        log_event(logger, "importacao_erro" if resumo.erro else "importacao", **fields,
                  level=logging.WARNING if resumo.erro else logging.INFO)
    return f"{len(resumos)} cliente(s)"


def run_analysis(engine: Engine) -> str:
    """Analyse up to `analise_lote` new or changed conversas (the rest wait for the next cycle)."""
    feitas = analyze_pending(engine, limite=get_settings().analise_lote)
    log_event(logger, "analise", conversas=feitas)
    return f"{feitas} conversa(s)"


def run_cycle(engine: Engine, provider_factory: ProviderFactory, *, nome: str | None = None,
              intervalo: int | None = None, sleep: Callable[[float], object] = time.sleep,
              should_stop: Callable[[], bool] = lambda: False,
              ingest: bool = True, analysis: bool = True) -> CycleSummary:
    """One cycle; never raises for a failing step (each is logged and the next runs)."""
    nome = nome or poller_name()
    summary = CycleSummary(iniciado_em=utcnow())
    log_event(logger, "ciclo_inicio", poller=nome)
    try:
        record_heartbeat(engine, nome, iniciado=summary.iniciado_em, intervalo=intervalo)
    except Exception as exc:  # noqa: BLE001 - the database may be back by the next step
        summary.erros.append(f"heartbeat: {exc!r}")
        logger.exception("acao=heartbeat_erro erro=%r", exc)

    def step(label: str, fn: Callable[[], object]) -> object:
        if should_stop():
            return None
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001
            summary.erros.append(f"{label}: {exc!r}")
            logger.exception("acao=%s_erro erro=%r", label, exc)
            return None

    if ingest:
        summary.importacao = step("importacao", lambda: run_ingest(engine)) or "erro"
    # Jobs before the analysis: a finished model must not wait for a long analysis backlog.
    jobs = step("jobs", lambda: check_jobs(engine, provider_factory, owner=nome, sleep=sleep,
                                           should_stop=should_stop))
    if jobs is not None:
        summary.jobs = jobs
    # Succeeded jobs whose model is not in use yet (retried deployments, approvals).
    implantados = step("implantacao", lambda: deploy_pending(engine, provider_factory, owner=nome,
                                                             should_stop=should_stop))
    for _, acao in implantados or ():
        if acao == "aplicado":
            summary.jobs.aplicados += 1
    # Before the Redis sync: a bot moved off a dying model gets its keys this cycle.
    step("desligamento_datas", lambda: refresh_shutdown_dates(engine))
    guard = step("desligamento", lambda: guard_shutdowns(engine, por=nome))
    if guard is not None:
        summary.desligamento = (f"{len(guard.movidos)} trocado(s), "
                                f"{len(guard.sem_alvo)} sem alvo")
    if analysis:
        summary.analise = step("analise", lambda: run_analysis(engine)) or "erro"

    def sync() -> int:
        with session_scope(engine) as session:
            return sync_models_to_redis(session)[0]
    summary.redis_modelos = step("redis_modelos", sync) or 0
    webhooks = step("webhooks", lambda: deliver_webhooks(engine))
    if webhooks is not None:
        summary.webhooks_enviados, summary.webhooks_falhas = webhooks.enviadas, webhooks.falhas

    summary.concluido_em = utcnow()
    j = summary.jobs
    resumo = {"importacao": summary.importacao, "jobs": j.verificados, "aplicados": j.aplicados,
              "falhas": j.falhas, "transitorios": j.transitorios, "erros": j.erros + len(summary.erros),
              "webhooks": summary.webhooks_enviados}
    try:
        record_heartbeat(engine, nome, concluido=summary.concluido_em, intervalo=intervalo,
                         resumo=json.dumps(resumo, ensure_ascii=False))
    except Exception as exc:  # noqa: BLE001
        logger.exception("acao=heartbeat_erro erro=%r", exc)
    log_event(logger, "ciclo_fim", poller=nome,
              duracao_s=round((summary.concluido_em - summary.iniciado_em).total_seconds(), 3),
              **resumo)
    return summary
