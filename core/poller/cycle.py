"""One poller cycle: import from Redis, analyse, check the fine-tuning jobs, notify.

`poller.py` only loops around `run_poller_cycle`; everything it does lives here so that
tests and other entry points run exactly the same code. Every step is guarded: a step that
fails is logged and the next one still runs. A database that cannot be used (down, not
created yet, not migrated) is different: the cycle stops there with ONE log line, and the
next cycle tries again (migrating first when the schema was never brought up to date).
"""
from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from core.formato import inteiro, plural
from core.review.analysis import analyze_pending
from core.clock import utcnow
from core.config import get_settings
from core.db import get_engine, session_scope, upgrade_database
from core.db.engine import normalize_url
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
    falha: str | None = None  # why the cycle stopped early (database unusable), pt-BR


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
    return plural(len(resumos), "cliente")


def run_analysis(engine: Engine) -> str:
    """Analyse up to `analise_lote` new or changed conversas (the rest wait for the next cycle)."""
    from core.review.classifier import classifier_from_settings

    classificador = classifier_from_settings()
    llm = {"classificador": classificador} if classificador is not None else {}
    feitas = analyze_pending(engine, limite=get_settings().analise_lote, **llm)
    if classificador is None:
        log_event(logger, "analise", conversas=feitas)
    else:
        uso = classificador.uso
        log_event(logger, "analise", conversas=feitas, classificador=classificador.modelo,
                  perguntadas=uso.perguntadas, do_cache=uso.do_cache,
                  acima_do_limite=uso.acima_do_limite, falhou=uso.falhou,
                  level=logging.WARNING if uso.falhou else logging.INFO)
    return plural(feitas, "conversa")


# --- a database that cannot be used ------------------------------------------------------

_DRIVER_REASONS = [  # driver message -> short pt-BR reason (the first match wins)
    (r'database "([^"]+)" does not exist', 'o banco "{0}" não existe'),
    (r'password authentication failed for user "([^"]+)"', 'senha recusada para o usuário "{0}"'),
    (r'role "([^"]+)" does not exist', 'o usuário "{0}" não existe'),
    (r"Connection refused", "conexão recusada"),
    (r"failed to resolve host '([^']+)'", "host '{0}' não encontrado"),
    (r"the database system is starting up", "o servidor está iniciando"),
    (r"the database system is shutting down", "o servidor está desligando"),
    (r"server closed the connection|terminating connection|connection is closed",
     "o servidor encerrou a conexão"),
    (r"timeout expired|timed out", "tempo de conexão esgotado"),
    (r"unable to open database file", "não foi possível abrir o arquivo do banco"),
    (r"database is locked", "banco ocupado por outro processo"),
    (r"readonly database", "o arquivo do banco é somente leitura"),
    (r"disk I/O error", "erro de disco"),
]
_OS_REASONS = {errno.EACCES: "sem permissão", errno.EPERM: "sem permissão",
               errno.EROFS: "sistema de arquivos somente leitura",
               errno.ENOTDIR: "o caminho não é um diretório", errno.ENOSPC: "disco cheio",
               errno.ENOENT: "caminho inexistente",
               errno.EEXIST: "há um arquivo no lugar do diretório"}


def _first_line(exc: BaseException) -> str:
    """The driver's own message (not SQLAlchemy's wrapper), on one short line."""
    text = str(exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc)
    lines = text.removeprefix("connection failed: ").strip().splitlines()
    return re.sub(r"\s+", " ", lines[0] if lines else "")[:200] or type(exc).__name__


def _destination(url: URL | None) -> str:
    """Where the database is, without the password: host:port/name, or the SQLite file."""
    if url is None:
        return "?"
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def _schema_missing(exc: BaseException) -> bool:
    """A table the code expects is missing: the schema was never migrated (or was dropped)."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return sqlstate == "42P01" or "no such table" in _first_line(exc)


def database_failure_reason(exc: BaseException, url: URL | None) -> str | None:
    """A short pt-BR reason when `exc` means the database cannot be used right now (down,
    unreachable, not created, unwritable, without its schema); None for anything else."""
    if _schema_missing(exc):
        return f"esquema do banco ausente ou desatualizado: {_first_line(exc)}"
    if isinstance(exc, OSError):  # the SQLite file or its directory
        motivo = _OS_REASONS.get(exc.errno, exc.strerror or type(exc).__name__)
        return f"banco de dados indisponível: {motivo} ({exc.filename or _destination(url)})"
    unusable = isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)
    if not unusable:
        return None
    driver = _first_line(exc)
    motivo = next((reason.format(*m.groups()) for pattern, reason in _DRIVER_REASONS
                   if (m := re.search(pattern, driver))), driver)
    return f"banco de dados indisponível: {motivo} ({_destination(url)})"


def fail_cycle(summary: CycleSummary, nome: str, etapa: str, motivo: str) -> CycleSummary:
    """End a cycle early with exactly one log line (no traceback: the reason says it all)."""
    summary.falha = motivo
    summary.concluido_em = utcnow()
    log_event(logger, "ciclo_falhou", poller=nome, etapa=etapa, motivo=motivo,
              level=logging.ERROR)
    return summary


@dataclass
class PollerDatabase:
    """The poller's database, and whether its next cycle must migrate it first: until one
    upgrade succeeded, and again after a cycle found the database unusable (it may come
    back recreated and empty; an upgrade of an up-to-date schema changes nothing)."""

    url: str | None = None  # None: DATABASE_URL from the settings
    migrar: bool = True

    @property
    def destino(self) -> URL | None:
        try:
            return make_url(normalize_url(self.url or get_settings().database_url))
        except Exception:  # noqa: BLE001 - a malformed URL: its own error says so
            return None


def run_poller_cycle(database: PollerDatabase, provider_factory: ProviderFactory, *,
                     nome: str | None = None, **options) -> CycleSummary:
    """The sidecar's cycle: reach the database and migrate it when needed (under core.db's
    migration lock, taking turns with the dashboard), then `run_cycle`. Never raises; a
    database that cannot be used costs one `ciclo_falhou` line and is tried again next cycle."""
    nome = nome or poller_name()
    try:
        engine = get_engine(database.url)  # creates the SQLite directory: may fail too
        if database.migrar:
            upgrade_database(database.url)
            database.migrar = False
    except Exception as exc:  # noqa: BLE001 - logged as one line, retried next cycle
        motivo = (database_failure_reason(exc, database.destino)
                  or f"migração falhou: {type(exc).__name__}: {_first_line(exc)}")
        return fail_cycle(CycleSummary(iniciado_em=utcnow()), nome, "migracao", motivo)
    summary = run_cycle(engine, provider_factory, nome=nome, **options)
    if summary.falha:
        database.migrar = True
    return summary


# --- the cycle ----------------------------------------------------------------------------

def run_cycle(engine: Engine, provider_factory: ProviderFactory, *, nome: str | None = None,
              intervalo: int | None = None, sleep: Callable[[float], object] = time.sleep,
              should_stop: Callable[[], bool] = lambda: False,
              ingest: bool = True, analysis: bool = True) -> CycleSummary:
    """One cycle on a migrated database; never raises. A failing step is logged and the next
    one runs; a database that cannot be used (at the first heartbeat or in any step) ends
    the cycle with one `ciclo_falhou` line, and `summary.falha` says why."""
    nome = nome or poller_name()
    summary = CycleSummary(iniciado_em=utcnow())
    try:
        record_heartbeat(engine, nome, iniciado=summary.iniciado_em, intervalo=intervalo)
    except Exception as exc:  # noqa: BLE001 - no step can work without the database
        motivo = (database_failure_reason(exc, engine.url)
                  or f"heartbeat falhou: {type(exc).__name__}: {_first_line(exc)}")
        return fail_cycle(summary, nome, "heartbeat", motivo)
    log_event(logger, "ciclo_inicio", poller=nome)
    etapa_falhou = ""

    def step(label: str, fn: Callable[[], object]) -> object:
        nonlocal etapa_falhou
        if should_stop() or summary.falha:
            return None
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001
            summary.erros.append(f"{label}: {exc!r}")
            motivo = database_failure_reason(exc, engine.url)
            if motivo:  # the rest would fail the same way: stop here, one line at the end
                summary.falha, etapa_falhou = motivo, label
            else:
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
        summary.desligamento = (f"{plural(len(guard.movidos), 'trocado')}, "
                                f"{inteiro(len(guard.sem_alvo))} sem alvo")
    if analysis:
        summary.analise = step("analise", lambda: run_analysis(engine)) or "erro"

    def sync() -> int:
        with session_scope(engine) as session:
            return sync_models_to_redis(session)[0]
    summary.redis_modelos = step("redis_modelos", sync) or 0
    webhooks = step("webhooks", lambda: deliver_webhooks(engine))
    if webhooks is not None:
        summary.webhooks_enviados, summary.webhooks_falhas = webhooks.enviadas, webhooks.falhas
    if summary.falha:
        return fail_cycle(summary, nome, etapa_falhou, summary.falha)

    summary.concluido_em = utcnow()
    j = summary.jobs
    resumo = {"importacao": summary.importacao, "jobs": j.verificados, "aplicados": j.aplicados,
              "falhas": j.falhas, "transitorios": j.transitorios, "erros": j.erros + len(summary.erros),
              "webhooks": summary.webhooks_enviados}
    try:
        record_heartbeat(engine, nome, concluido=summary.concluido_em, intervalo=intervalo,
                         resumo=json.dumps(resumo, ensure_ascii=False))
    except Exception as exc:  # noqa: BLE001
        motivo = database_failure_reason(exc, engine.url)
        if motivo:
            return fail_cycle(summary, nome, "heartbeat", motivo)
        logger.exception("acao=heartbeat_erro erro=%r", exc)
    log_event(logger, "ciclo_fim", poller=nome,
              duracao_s=round((summary.concluido_em - summary.iniciado_em).total_seconds(), 3),
              **resumo)
    return summary
