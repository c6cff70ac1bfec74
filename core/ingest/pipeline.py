"""Import the bots' conversations from Redis into the database: durable, idempotent, fast.

The bot (DESIGN.md, "The bot's Redis format") keeps each message under
`conversation:{from}:{ms}` and RPUSHes that key onto `all_conversations`, a list of keys
whose TTL is refreshed on every push. An import walks that list from where the previous
run of the same source stopped, reads the payloads with a small Lua script (FETCH_SCRIPT:
the values, but never one that is too large or not a string), validates them, splits
each number's messages into conversas by inactivity and writes them in chunks, one
transaction per chunk (on PostgreSQL, one per day shard of a chunk: _write_chunk).
A run that dies is closed by the next one (core.ingest.runs); its reader process dies
with it (_end_with_parent).

Nothing is added twice because the database says so: one message per (cliente, Redis
key) and one conversa per (cliente, number, start) are unique constraints, and every
insert skips what already exists. Runs of the same cliente also take a per-cliente lock
per chunk, so two runs at once wait for each other instead of racing on the same rows.

Which Redis a cliente's messages come from, and which clientes `ingest_all` imports:
core.clientes.redis_source (the same rule decides where the model key goes).

This module runs an import (and answers the dashboard); the work is in core.ingest.source
(reading Redis, FETCH_SCRIPT, the reader process), core.ingest.parse (validating),
core.ingest.write (the database) and core.ingest.summary (what a run did).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import multiprocessing
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import redis
from sqlalchemy import Engine, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from core.clientes.directory import ensure_cliente, get_cliente, list_clientes
from core.clientes.redis_source import (
    redis_problem,
    RedisSource,
    connect,
    has_own_source,
    validate_source,
    mask_url,
    resolve_source,
)
from core.clock import to_epoch_ms, utcnow
from core.config import Settings, get_settings
from core.errors import CuradoriaError, InvalidInput, ServiceUnavailable
from core.ingest.runs import INTERRUPTED, RunLocks, close_abandoned_runs, run_locks
from core.db.tables import (
    Cliente,
    EntradaRejeitada,
    Importacao,
    ModeloHistorico,
)
from core.ingest.parse import MOTIVOS, ModelTimeline
from core.ingest.source import (
    LIST_KEY,
    ReaderLost,
    _read_all,
    _read_in_process,
    _ReaderState,
    _receive,
)
from core.ingest.summary import IngestSummary
from core.ingest.write import WRITER_SHARDS, _finish, _write_chunk
from core.review.search_index import update_search

log = logging.getLogger("curadoria.ingest")


# --- one run ----------------------------------------------------------------------------

@dataclass
class _Run:
    engine: Engine
    cliente_id: int
    source: RedisSource
    settings: Settings
    models: ModelTimeline
    importacao_id: int
    summary: IngestSummary
    now_ms: int = field(default_factory=lambda: to_epoch_ms(utcnow()))
    days: dict[int, dt.date] = field(default_factory=dict)
    # PostgreSQL: threads writing the other day shards of each chunk (see _write_chunk).
    pool: ThreadPoolExecutor | None = None

    @property
    def gap_ms(self) -> int:
        return self.settings.ingest_inatividade_minutos * 60_000


def ingest_cliente(engine: Engine, slug: str, redis_url: str | None = None) -> IngestSummary:
    """Import a cliente's new messages from its Redis (the cliente is created if missing).

    A Redis or database failure does not raise: it ends the run and is reported in
    `summary.erro` (what was committed before it stays), and written on the run when the
    database still answers; otherwise the next import closes the run as interrupted
    (core.ingest.runs). Raises InvalidInput when there is no source, ServiceUnavailable
    when the database cannot be reached to start.
    """
    locks: RunLocks | None = None
    try:
        locks = run_locks(engine)
        run = _start_run(engine, slug, redis_url, locks)
    except BaseException as exc:
        if locks is not None:
            locks.release()
        reason = database_failure(exc)
        if reason is None:
            raise
        raise ServiceUnavailable(f"Não foi possível acessar o banco de dados ({reason}).") from None
    started = time.perf_counter()
    try:
        close_abandoned_runs(engine, locks, exclude=run.importacao_id)
        _walk(run)
        # Conversas queued for search (SQLite: its documents hold stems computed in Python;
        # PostgreSQL builds them in the insert trigger) are built before the run ends, so
        # a search right after this import finds what it brought.
        update_search(engine)
    except redis.RedisError as exc:
        log.info("redis read failed for %s: %s: %s", slug, type(exc).__name__, exc)
        run.summary.erro = (f"não foi possível ler o Redis {mask_url(run.source.url)}: "
                            f"{redis_problem(exc)}.")
    except ReaderLost as exc:
        run.summary.erro = (f"o processo que lia o Redis terminou inesperadamente "
                            f"(código de saída {exc.args[0]}).")
    except Exception as exc:
        reason = database_failure(exc)
        if reason is None:
            run.summary.erro = f"erro inesperado ({type(exc).__name__}: {exc})."
            raise
        run.summary.erro = f"falha no banco de dados ({reason})."
    except BaseException:  # Ctrl-C, SystemExit: the run is closed as interrupted, not as done
        run.summary.erro = INTERRUPTED
        raise
    finally:
        run.summary.segundos = time.perf_counter() - started
        try:
            _finish(run)
        except Exception as exc:
            if database_failure(exc) is None:
                raise
            # The database is gone: the next import closes this run as interrupted. Not a
            # warning: the summary says it, and the CLI prints one line.
            log.info("could not close import run %s: %s", run.importacao_id, database_failure(exc))
            run.summary.erro = (run.summary.erro or "") + UNRECORDED
        finally:
            locks.release()
    return run.summary


UNRECORDED = (" Não foi possível registrar o fim desta importação no banco; a próxima a marca "
              "como interrompida.")


def _start_run(engine: Engine, slug: str, redis_url: str | None, locks: RunLocks) -> _Run:
    """The cliente (created if missing), its source, and a new importacoes row, claimed by
    this process before anyone can see it."""
    settings = get_settings()
    with Session(engine, expire_on_commit=False) as session, session.begin():
        cliente = ensure_cliente(session, slug, redis_url=redis_url) if redis_url \
            else ensure_cliente(session, slug)
        source = resolve_source(cliente, settings, redis_url)
        if source is None:
            raise InvalidInput(
                f"O cliente '{cliente.slug}' não tem Redis configurado. Informe a URL na página "
                "Importação, com --redis-url ou na variável REDIS_URL.")
        changes = list(session.scalars(select(ModeloHistorico)
                                       .where(ModeloHistorico.cliente_id == cliente.id)
                                       .order_by(ModeloHistorico.created_at, ModeloHistorico.id)))
        models = ModelTimeline(cliente, changes)
        run_row = Importacao(cliente_id=cliente.id, origem=source.origem, iniciada_em=utcnow())
        session.add(run_row)
        session.flush()
        locks.claim(run_row.id)
        return _Run(engine, cliente.id, source, settings, models, run_row.id,
                    IngestSummary(cliente=cliente.slug, importacao_id=run_row.id,
                                  iniciada_em=run_row.iniciada_em))


def database_failure(exc: BaseException) -> str | None:
    """'Type: first line of the driver's message' when `exc` means the database failed
    (connection lost or refused, server shut down, disk full, lock timeout); else None.

    Only the driver's own message: SQLAlchemy's text would add the statement and its
    parameters, i.e. message contents.
    """
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        exc = exc.orig if exc.orig is not None else exc
    elif not isinstance(exc, _driver_failures()):
        return None
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {(lines[0] if lines else '')[:300]}"


@functools.cache
def _driver_failures() -> tuple[type[BaseException], ...]:
    """The drivers' own connection-level errors (raised as they are by the raw COPY path)."""
    import sqlite3

    kinds: list[type[BaseException]] = [sqlite3.OperationalError, sqlite3.InterfaceError]
    with contextlib.suppress(ImportError):
        import psycopg

        kinds += [psycopg.OperationalError, psycopg.InterfaceError]
    return tuple(kinds)


def ingest_all(engine: Engine) -> list[IngestSummary]:
    """Import every cliente with a Redis source; one failure is reported, never raised."""
    settings = get_settings()
    with Session(engine) as session:
        slugs = [c.slug for c in list_clientes(session) if has_own_source(c, settings)]
    results = []
    for slug in slugs:
        try:
            results.append(ingest_cliente(engine, slug))
        except CuradoriaError as exc:
            results.append(IngestSummary(cliente=slug, erro=str(exc)))
        except Exception as exc:  # noqa: BLE001 - one cliente must not stop the others
            log.exception("import of %s failed", slug)
            results.append(IngestSummary(cliente=slug, erro=f"erro inesperado: {exc}"))
    try:  # messages written by anyone else (a tool's SQL, a failed run) reach search too
        update_search(engine)
    except Exception as exc:  # noqa: BLE001 - the next cycle tries again
        if database_failure(exc) is None:
            raise
        log.info("search index not brought up to date: %s", database_failure(exc))
    return results


# Below this many list entries a reader thread is cheaper than starting a process.
PROCESS_THRESHOLD = 200_000



def _walk(run: _Run) -> None:
    """Read batches in the background while the previous one is written.

    Large imports read and parse in a separate process (the GIL would keep all Python
    work on one core); small ones in a thread. Either way PostgreSQL's work on the COPY
    overlaps the parsing, and at most two batches wait between reader and writer, so
    memory stays flat.
    """
    client = connect(run.source)
    try:
        list_key = run.source.prefix + LIST_KEY
        first = client.lindex(list_key, 0)
        length = client.llen(list_key)
        first_key = first.decode("utf-8", "replace")[:300] if first else None
        position = _resume_position(run, first_key, length)
        _save_start(run, position, first_key)
        state = _ReaderState(run.source, run.settings.ingest_lote,
                             run.settings.ingest_max_caracteres, run.now_ms, run.gap_ms, run.models)
        if run.engine.dialect.name == "postgresql" and WRITER_SHARDS > 1:
            run.pool = ThreadPoolExecutor(WRITER_SHARDS - 1, thread_name_prefix="ingest-writer")
        if length - position >= PROCESS_THRESHOLD:
            _consume_from_process(run, state, list_key, position, length)
        else:
            _consume_from_thread(run, client, state, list_key, position, length)
    finally:
        client.close()
        if run.pool is not None:
            run.pool.shutdown(wait=True)
            run.pool = None


def _consume(run: _Run, get) -> None:
    while (batch := get()) is not None:
        if isinstance(batch, BaseException):
            raise batch
        _write_chunk(run, batch)


def _consume_from_thread(run, client, state, list_key, position, length) -> None:
    batches: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    reader = threading.Thread(target=_read_all, name="ingest-reader", daemon=True,
                              args=(client, state, list_key, position, length, batches, stop))
    reader.start()
    try:
        _consume(run, batches.get)
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.1)


def _consume_from_process(run, state, list_key, position, length) -> None:
    """Batches from a reader process over a pipe whose writing end only the reader holds:
    if either process dies, the other sees the pipe break (EOF here, EPIPE there)."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    reader = context.Process(target=_read_in_process, name="ingest-reader", daemon=True,
                             args=(state, list_key, position, length, sending, os.getpid()))
    reader.start()
    sending.close()
    try:
        _consume(run, lambda: _receive(receiving, reader))
    finally:
        if reader.is_alive():
            reader.terminate()
        reader.join()
        receiving.close()


def _resume_position(run: _Run, first_key: str | None, length: int) -> int:
    """Where the previous run of this source stopped; 0 when the list was recreated."""
    with run.engine.connect() as conn:
        row = conn.execute(
            select(Importacao.posicao_final, Importacao.primeira_chave)
            .where(Importacao.cliente_id == run.cliente_id, Importacao.origem == run.source.origem,
                   Importacao.posicao_final.is_not(None), Importacao.id != run.importacao_id)
            .order_by(Importacao.id.desc()).limit(1)
        ).first()
    if row is None or row.primeira_chave != first_key or row.posicao_final > length:
        return 0
    return row.posicao_final


def _save_start(run: _Run, position: int, first_key: str | None) -> None:
    with run.engine.begin() as conn:
        conn.execute(update(Importacao).where(Importacao.id == run.importacao_id).values(
            posicao_inicial=position, posicao_final=position, primeira_chave=first_key))



# --- what the dashboard shows -----------------------------------------------------------

@dataclass(frozen=True)
class ImportStatus:
    """One cliente's Redis source and its last import."""

    slug: str
    nome: str
    redis_url: str | None
    redis_db: int
    redis_prefix: str
    usa_redis_padrao: bool
    importa_automaticamente: bool
    ultima: IngestSummary | None


def summary_from_run(run: Importacao, slug: str) -> IngestSummary:
    return IngestSummary(
        cliente=slug, lidas=run.lidas, mensagens_novas=run.mensagens_novas,
        conversas_novas=run.conversas_novas, conversas_estendidas=run.conversas_estendidas,
        duplicadas=run.duplicadas, expiradas=run.expiradas,
        rejeitadas=json.loads(run.rejeitadas_por_motivo or "{}"), erro=run.erro,
        importacao_id=run.id, iniciada_em=run.iniciada_em, concluida_em=run.concluida_em,
        segundos=((run.concluida_em - run.iniciada_em).total_seconds() if run.concluida_em else 0.0),
    )


def list_import_status(session: Session) -> list[ImportStatus]:
    """Every cliente with its Redis source and the summary of its last import."""
    settings = get_settings()
    latest = (select(func.max(Importacao.id)).group_by(Importacao.cliente_id)).scalar_subquery()
    runs = {r.cliente_id: r for r in session.scalars(select(Importacao).where(Importacao.id.in_(latest)))}
    result = []
    for cliente in list_clientes(session):
        run = runs.get(cliente.id)
        result.append(ImportStatus(
            slug=cliente.slug, nome=cliente.nome, redis_url=cliente.redis_url,
            redis_db=cliente.redis_db or 0, redis_prefix=cliente.redis_prefix or "",
            usa_redis_padrao=not cliente.redis_url and bool(settings.redis_url),
            importa_automaticamente=has_own_source(cliente, settings),
            ultima=summary_from_run(run, cliente.slug) if run else None,
        ))
    return result


def update_redis_source(session: Session, slug: str, redis_url: str | None, redis_db: int,
                        redis_prefix: str) -> Cliente:
    """Change where a cliente's bot keeps its messages (validated)."""
    cliente = get_cliente(session, slug)
    redis_url, redis_db, redis_prefix = validate_source(redis_url, redis_db, redis_prefix)
    cliente.redis_url, cliente.redis_db, cliente.redis_prefix = redis_url, int(redis_db), redis_prefix
    session.flush()
    return cliente


@dataclass(frozen=True)
class RejectedEntry:
    redis_key: str
    motivo: str
    descricao: str
    trecho: str
    registrada_em: dt.datetime


def list_rejected_entries(session: Session, slug: str, limit: int = 200) -> list[RejectedEntry]:
    """The cliente's rejected Redis entries, newest first."""
    cliente = get_cliente(session, slug)
    rows = session.scalars(select(EntradaRejeitada).where(EntradaRejeitada.cliente_id == cliente.id)
                           .order_by(EntradaRejeitada.id.desc()).limit(limit))
    return [RejectedEntry(r.redis_key, r.motivo, MOTIVOS.get(r.motivo, r.motivo), r.trecho,
                          r.registrada_em) for r in rows]
