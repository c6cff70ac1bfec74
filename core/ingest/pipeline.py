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
"""
from __future__ import annotations

import bisect
import contextlib
import ctypes
import datetime as dt
import functools
import hashlib
import json
import logging
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

import orjson
import redis
from sqlalchemy import Connection, Engine, and_, bindparam, func, select, text, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.clientes.directory import ensure_cliente, get_cliente, list_clientes
from core.clientes.redis_source import (
    RedisSource,
    connect,
    has_own_source,
    mask_url,
    resolve_source,
)
from core.clock import from_epoch_ms, local_day, to_epoch_ms, utcnow
from core.config import Settings, get_settings
from core.errors import CuradoriaError, InvalidInput, ServiceUnavailable
from core.ingest.runs import INTERRUPTED, RunLocks, close_abandoned_runs, run_locks
from core.db.tables import (
    Cliente,
    Conversa,
    EntradaRejeitada,
    Importacao,
    Mensagem,
    ModeloHistorico,
)
from core.ingest.phones import normalize_whatsapp

log = logging.getLogger("curadoria.ingest")

LIST_KEY = "all_conversations"
MESSAGE_PREFIX = "conversation:"
FETCH_BATCH = 5_000  # keys per EVALSHA of FETCH_SCRIPT (several per pipelined round trip)
EXCERPT_CHARS = 300
MAX_KEY_CHARS = 255  # mensagens.redis_key
MIN_TIMESTAMP_MS = 946_684_800_000  # 2000-01-01: anything earlier is not a Date.now()
ADVISORY_NAMESPACE = 7303  # pg_advisory_xact_lock(namespace, cliente_id)

MOTIVOS = {
    "chave_invalida": "chave fora do formato conversation:{número}:{ms}",
    "numero_invalido": "número de WhatsApp inválido",
    "utf8_invalido": "UTF-8 inválido",
    "json_invalido": "não é um objeto JSON",
    "campo_ausente": "campo obrigatório ausente",
    "tipo_invalido": "campo com tipo errado",
    "role_desconhecido": "papel desconhecido (nem user nem assistant)",
    "conteudo_vazio": "conteúdo vazio",
    "caractere_nulo": "caractere nulo (NUL)",
    "conteudo_grande": "conteúdo grande demais",
    "tipo_redis_invalido": "tipo inválido no Redis (hash, lista ou conjunto em vez de texto)",
    "timestamp_invalido": "horário fora do intervalo possível",
}


# --- the summary ------------------------------------------------------------------------

@dataclass
class IngestSummary:
    """What one import of one cliente did. `lidas` = novas + duplicadas + expiradas + rejeitadas."""

    cliente: str
    lidas: int = 0
    mensagens_novas: int = 0
    conversas_novas: int = 0
    conversas_estendidas: int = 0
    duplicadas: int = 0
    expiradas: int = 0
    rejeitadas: dict[str, int] = field(default_factory=dict)
    erro: str | None = None
    importacao_id: int | None = None
    iniciada_em: dt.datetime | None = None
    concluida_em: dt.datetime | None = None
    segundos: float = 0.0

    @property
    def total_rejeitadas(self) -> int:
        return sum(self.rejeitadas.values())

    def texto(self) -> str:
        """One pt-BR paragraph for the admin (CLI output, dashboard, poller log)."""
        n = _fmt
        partes = [
            f"Importação de '{self.cliente}': {n(self.lidas)} entradas lidas, "
            f"{n(self.mensagens_novas)} mensagens novas em {n(self.conversas_novas)} conversas "
            f"novas e {n(self.conversas_estendidas)} estendidas; {n(self.duplicadas)} duplicadas, "
            f"{n(self.expiradas)} expiradas, {n(self.total_rejeitadas)} rejeitadas"
        ]
        if self.rejeitadas:
            motivos = ", ".join(f"{n(v)} {MOTIVOS.get(k, k)}" for k, v in sorted(self.rejeitadas.items()))
            partes.append(f" ({motivos})")
        partes.append(".")
        if self.segundos:
            partes.append(f" Duração: {self.segundos:.1f} s.")
        if self.erro:
            partes.append(f" A importação parou com erro: {self.erro}")
        return "".join(partes)


def _fmt(value: int) -> str:
    return f"{value:,}".replace(",", ".")


# --- parsing what the bot wrote ---------------------------------------------------------

# One valid message is a plain tuple, not an object: a million of them cross from the
# reader process to the writer, and pickling tuples is ~7x cheaper than pickling
# dataclass instances (measured: 0.06 s against 0.43 s per 50,000 to unpickle).
# (role, content, sent at as naive UTC, key without the source's prefix,
#  model: the payload's, else the one in use then for an assistant, else None, timestamp ms)
Message = tuple[str, str, dt.datetime, str, str | None, int]
ROLE, CONTENT, WHEN, KEY, MODELO, TS = range(6)


_EPOCH = dt.datetime(1970, 1, 1)


def _naive_utc(ms: int) -> dt.datetime:
    """Same as clock.from_epoch_ms, exact and about 3x faster (it runs per message)."""
    return _EPOCH + dt.timedelta(milliseconds=ms)


@dataclass(slots=True)
class Rejected:
    key: str
    motivo: str
    trecho: str


def parse_key(raw: bytes, prefix: str, numbers: dict[str, str] | None = None) -> tuple[str, str] | str:
    """(key without prefix, normalized number), or the rejection reason.

    `numbers` caches normalized numbers: each number has many keys.
    """
    try:
        key = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "chave_invalida"
    if not key.startswith(prefix + MESSAGE_PREFIX):
        return "chave_invalida"
    key = key[len(prefix):]
    numero, sep, ts = key[len(MESSAGE_PREFIX):].rpartition(":")
    if not sep or not ts.isdigit() or len(key) > MAX_KEY_CHARS:
        return "chave_invalida"
    whatsapp = numbers.get(numero) if numbers is not None else None
    if whatsapp is None:
        whatsapp = normalize_whatsapp(numero)
        if numbers is not None and len(numbers) < 1_000_000:
            numbers[numero] = whatsapp
    if not 8 <= len(whatsapp) <= 20:
        return "numero_invalido"
    return key, whatsapp


def max_value_bytes(max_chars: int) -> int:
    """Longest stored value worth reading: max_chars of 4-byte UTF-8 plus the JSON around them.

    Longer values are rejected unread (FETCH_SCRIPT); shorter ones are still held to
    max_chars characters of content once decoded (parse_payload).
    """
    return 4 * max_chars + 4096


def parse_payload(raw: bytes, max_chars: int, now_ms: int) -> tuple[str, str, int, str | None] | str:
    """(role, content, timestamp ms, model or None), or the rejection reason."""
    if len(raw) > max_value_bytes(max_chars):
        return "conteudo_grande"  # not worth parsing a megabyte to find out
    if b"\x00" in raw:
        return "caractere_nulo"
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "utf8_invalido" if not _is_utf8(raw) else "json_invalido"
    if not isinstance(data, dict):
        return "json_invalido"
    role, content, ts = data.get("role"), data.get("content"), data.get("timestamp")
    if role is None or content is None or ts is None:
        return "campo_ausente"
    if not isinstance(role, str) or not isinstance(content, str) \
            or isinstance(ts, bool) or not isinstance(ts, (int, float)):
        return "tipo_invalido"
    if role not in ("user", "assistant"):
        return "role_desconhecido"
    if "\x00" in content:
        return "caractere_nulo"  # an escaped \u0000: PostgreSQL text cannot hold it
    if not content.strip():
        return "conteudo_vazio"
    if len(content) > max_chars:
        return "conteudo_grande"
    if not MIN_TIMESTAMP_MS <= ts <= now_ms + 86_400_000:
        return "timestamp_invalido"
    model = data.get("model")
    model = model.strip()[:200] if isinstance(model, str) and model.strip() else None
    return role, content, int(ts), model


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def excerpt(raw: bytes) -> str:
    """A bounded, storable excerpt of a rejected value (NULs made visible)."""
    return raw[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS].replace("\x00", "\\0")


# --- splitting into conversas -----------------------------------------------------------

T = TypeVar("T")


def split_by_inactivity(items: Sequence[T], gap_ms: int,
                        timestamp: Callable[[T], int] = lambda m: m[TS]) -> list[list[T]]:
    """Items sorted by time (stable) and cut wherever two neighbours are more than gap_ms apart."""
    ordered = sorted(items, key=timestamp)
    groups: list[list[T]] = []
    previous = None
    for item in ordered:
        ts = timestamp(item)
        if previous is None or ts - previous > gap_ms:
            groups.append([])
        groups[-1].append(item)
        previous = ts
    return groups


def derive_status(last_role: str, last_ms: int, now_ms: int, gap_ms: int) -> str:
    """aguardando: the customer spoke last; ativa: within the window; else finalizada."""
    if last_role == "user":
        return "aguardando"
    return "ativa" if now_ms - last_ms <= gap_ms else "finalizada"


class ModelTimeline:
    """Which model a cliente's bot used at a given instant (from modelos_historico)."""

    def __init__(self, cliente: Cliente, changes: list[ModeloHistorico]):
        self.base = cliente.modelo_base
        self.atual = cliente.modelo_ativo or cliente.modelo_base
        self.instants = [to_epoch_ms(c.created_at) for c in changes]
        # Plain pairs (anterior, novo), so that a reader process can own a copy.
        self.changes = [(c.modelo_anterior, c.modelo_novo) for c in changes]

    def at(self, ts_ms: int) -> str:
        if not self.changes:
            return self.atual
        index = bisect.bisect_right(self.instants, ts_ms)
        if index == 0:
            return self.changes[0][0] or self.base
        return self.changes[index - 1][1] or self.base


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
    except redis.RedisError as exc:
        run.summary.erro = (f"não foi possível ler o Redis {mask_url(run.source.url)} "
                            f"({type(exc).__name__}: {exc}).")
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
    return results


# Below this many list entries a reader thread is cheaper than starting a process.
PROCESS_THRESHOLD = 200_000


@dataclass
class _ReaderState:
    """What reading needs (picklable, so a reader process can own it)."""

    source: RedisSource
    lote: int
    max_chars: int
    now_ms: int
    gap_ms: int
    models: ModelTimeline
    seen: set[bytes] = field(default_factory=set)
    numbers: dict[str, str] = field(default_factory=dict)


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


class ReaderLost(Exception):
    """The reader process ended without handing over its batches (killed, out of memory)."""


def _receive(receiving, reader) -> object:
    try:
        return pickle.loads(receiving.recv_bytes())
    except (EOFError, OSError):  # OSError: "got end of file during message"
        reader.join(5)
        raise ReaderLost(reader.exitcode) from None


# prctl(2): have the kernel send this signal to the process when its parent dies (Linux).
PR_SET_PDEATHSIG = 1
USE_PDEATHSIG = True  # tests turn it off to see the portable checks alone do the job


def _end_with_parent(parent_pid: int) -> None:
    """A reader never outlives the import that started it.

    Without this, a kill -9 of the import left its reader waiting for ever, with a batch
    in memory and a Redis connection. On Linux the kernel kills it at once; everywhere, a
    reader that finds its parent gone (re-parented: getppid() changed) between batches,
    or its pipe broken when it sends one (_Outbox), ends there.
    """
    if USE_PDEATHSIG and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _exit_if_orphaned(parent_pid)


def _exit_if_orphaned(parent_pid: int) -> None:
    if os.getppid() != parent_pid:
        os._exit(1)


class _ParentWatch:
    """The reader process's stop event: set once its parent is gone (and then it ends)."""

    def __init__(self, parent_pid: int):
        self.parent_pid = parent_pid

    def is_set(self) -> bool:
        _exit_if_orphaned(self.parent_pid)
        return False


class _Outbox:
    """The reader process's end of the pipe. Batches are pickled by the caller and sent by a
    thread, so that reading the next batch overlaps sending this one; at most one waits.

    A broken pipe means the importing process is gone: os._exit, not an exception, since
    nobody is left to hand it to (and a normal exit would wait for this thread).
    """

    def __init__(self, sending):
        self.sending = sending
        self.pending: queue.Queue = queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._send_all, name="ingest-sender", daemon=True)
        self.thread.start()

    def put(self, item) -> None:
        self.pending.put(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))

    def _send_all(self) -> None:
        while (data := self.pending.get()) is not None:
            try:
                self.sending.send_bytes(data)
            except OSError:
                os._exit(1)

    def close(self) -> None:
        self.pending.put(None)
        self.thread.join()
        self.sending.close()


def _read_in_process(state: _ReaderState, list_key: str, position: int, length: int,
                     sending, parent_pid: int) -> None:
    _end_with_parent(parent_pid)
    outbox = _Outbox(sending)
    client = connect(state.source)
    try:
        _read_all(client, state, list_key, position, length, outbox, _ParentWatch(parent_pid))
    finally:
        client.close()
        outbox.close()


def _read_all(client: redis.Redis, state: _ReaderState, list_key: str, position: int, length: int,
              batches, stop) -> None:
    try:
        while position < length and not stop.is_set():
            end = min(position + state.lote, length)
            raw_keys = client.lrange(list_key, position, end - 1)
            if not raw_keys:
                break
            position += len(raw_keys)
            batches.put(_read_batch(client, state, raw_keys, position))
        batches.put(None)
    except BaseException as exc:  # noqa: BLE001 - handed to the writer, which raises it
        batches.put(exc)


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


# A number's messages of one batch, split by inactivity: [(messages, model of the conversa)].
Groups = list[tuple[list[Message], str]]


@dataclass
class _Batch:
    numbers: list[tuple[str, Groups]]  # (normalized number, its groups in time order)
    rejected: list[Rejected]
    position: int  # list index after this batch
    lidas: int = 0
    duplicadas: int = 0
    expiradas: int = 0


def _read_batch(client: redis.Redis, state: _ReaderState, raw_keys: list[bytes], position: int) -> _Batch:
    """Validate the keys, fetch the payloads in one pipelined round trip, parse them, and
    split each number's messages into groups by inactivity (no database needed for that)."""
    batch = _Batch([], [], position, lidas=len(raw_keys))
    rejected, seen = batch.rejected, state.seen
    wanted: list[tuple[bytes, str, str]] = []
    for raw in raw_keys:
        if raw in seen:
            batch.duplicadas += 1  # the list repeats a key (same-millisecond collision)
            continue
        seen.add(raw)
        parsed = parse_key(raw, state.source.prefix, state.numbers)
        if isinstance(parsed, str):
            rejected.append(Rejected(raw.decode("utf-8", "replace")[:300], parsed, ""))
            continue
        wanted.append((raw, *parsed))
    values = fetch_values(client, [w[0] for w in wanted], max_value_bytes(state.max_chars))
    by_number: dict[str, list[tuple[Message, str | None]]] = defaultdict(list)
    max_chars, now_ms, model_at = state.max_chars, state.now_ms, state.models.at
    for (_raw, key, whatsapp), value in zip(wanted, values):
        if value is None:
            batch.expiradas += 1  # listed, but its 60 days are over
            continue
        if value.__class__ is list:  # not fetched: [type, length in bytes, first bytes]
            rejected.append(_reject_unfetched(key, value))
            continue
        parsed = parse_payload(value, max_chars, now_ms)
        if isinstance(parsed, str):
            rejected.append(Rejected(key, parsed, excerpt(value)))
            continue
        role, content, ts, model = parsed
        modelo = model or (model_at(ts) if role == "assistant" else None)
        by_number[whatsapp].append(((role, content, _naive_utc(ts), key, modelo, ts), model))
    for whatsapp, items in by_number.items():
        items.sort(key=_time_then_key)
        groups = split_by_inactivity(items, state.gap_ms, timestamp=_item_ts)
        batch.numbers.append((whatsapp, [([m for m, _ in group], _group_model(state.models, group))
                                         for group in groups]))
    return batch


# --- fetching the values: type and size checked inside Redis, before a value is sent ----

# Per key: the value, when it is a string of at most ARGV[1] bytes; nil when the key is
# gone; otherwise {type, length in bytes, its first ARGV[2] bytes}. So a 50 MB value never
# crosses the network (only its first bytes, for the excerpt), and a hash, list or set is
# told apart from an expired key (MGET answers nil for both). STRLEN is 0 for a missing key
# and an error for a key of another type; GET answers false (nil) for a missing one.
FETCH_SCRIPT = """
local limit, head = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.pcall('STRLEN', key)
  if type(n) == 'table' then
    out[i] = {redis.call('TYPE', key)['ok'], 0, ''}
  elseif n > limit then
    out[i] = {'string', n, redis.call('GETRANGE', key, 0, head - 1)}
  else
    out[i] = redis.call('GET', key)
  end
end
return out
"""
FETCH_SCRIPT_SHA = hashlib.sha1(FETCH_SCRIPT.encode()).hexdigest()
HEAD_BYTES = EXCERPT_CHARS * 4  # enough bytes for an excerpt of EXCERPT_CHARS characters


def fetch_values(client: redis.Redis, keys: list[bytes], limit: int) -> list:
    """For each key: its value (bytes), None when it is gone, or [type, length, first bytes]
    when it is not a string or longer than `limit` bytes. One pipelined round trip."""
    if not keys:
        return []
    try:
        return _run_fetch_script(client, keys, limit)
    except redis.exceptions.NoScriptError:  # first use on this server, or its cache was flushed
        client.script_load(FETCH_SCRIPT)
        return _run_fetch_script(client, keys, limit)
    except redis.exceptions.ResponseError as exc:  # scripting forbidden (ACL) or renamed
        log.warning("Redis refused the fetch script (%s): checking sizes with STRLEN",
                    str(exc)[:200])
        return _fetch_without_script(client, keys, limit)


def _run_fetch_script(client: redis.Redis, keys: list[bytes], limit: int) -> list:
    # Several scripts of FETCH_BATCH keys rather than one: each blocks Redis (and the bot
    # using it) only as long as an MGET of as many keys would.
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(keys), FETCH_BATCH):
        chunk = keys[start:start + FETCH_BATCH]
        pipe.evalsha(FETCH_SCRIPT_SHA, len(chunk), *chunk, limit, HEAD_BYTES)
    return [value for reply in pipe.execute() for value in reply]


def _fetch_without_script(client: redis.Redis, keys: list[bytes], limit: int) -> list:
    """Same answer as FETCH_SCRIPT where scripting is not allowed: STRLEN of every key
    first (an error for a key of another type), then GET only those within the limit."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.strlen(key)
    lengths = pipe.execute(raise_on_error=False)
    pipe = client.pipeline(transaction=False)
    for key, length in zip(keys, lengths):
        if isinstance(length, redis.exceptions.ResponseError):
            pipe.type(key)
        elif length > limit:
            pipe.getrange(key, 0, HEAD_BYTES - 1)
        else:
            pipe.get(key)
    values = []
    for length, reply in zip(lengths, pipe.execute(raise_on_error=False)):
        if isinstance(length, redis.exceptions.ResponseError):
            values.append([reply, 0, b""])
        elif length > limit:
            values.append([b"string", length, reply])
        else:
            values.append(reply)
    return values


def _reject_unfetched(key: str, reply: list) -> Rejected:
    redis_type, _length, head = reply
    if redis_type == b"string":
        return Rejected(key, "conteudo_grande", excerpt(head))
    nome = redis_type.decode("utf-8", "replace") if isinstance(redis_type, bytes) else str(redis_type)
    return Rejected(key, "tipo_redis_invalido", f"(valor do tipo {nome} no Redis)")


def _time_then_key(item: tuple[Message, str | None]) -> tuple[int, str]:
    return item[0][TS], item[0][KEY]


def _item_ts(item: tuple[Message, str | None]) -> int:
    return item[0][TS]


def _group_model(models: ModelTimeline, group: list[tuple[Message, str | None]]) -> str:
    """The conversa's model: the first one an answer names, else the one in use at its start."""
    for message, model in group:
        if model and message[ROLE] == "assistant":
            return model
    return models.at(group[0][0][TS])


def _count_read(summary: IngestSummary, batch: _Batch) -> None:
    summary.lidas += batch.lidas
    summary.duplicadas += batch.duplicadas
    summary.expiradas += batch.expiradas
    for item in batch.rejected:
        summary.rejeitadas[item.motivo] = summary.rejeitadas.get(item.motivo, 0) + 1


# --- writing one chunk ------------------------------------------------------------------

@dataclass(slots=True)
class _NewConversa:
    whatsapp: str
    messages: list[Message]
    modelo_usado: str
    id: int | None = None
    created: bool = False  # inserted by this run (not found already there)


@dataclass(slots=True)
class _Extension:
    conversa_id: int
    ultima_ms: int
    messages: list[Message]
    dia: dt.date  # the conversa's rollup day, as stored


# PostgreSQL: each chunk is written over this many connections at once, one per shard of
# local days (day ordinal modulo WRITER_SHARDS). Almost all of an import's time is
# PostgreSQL's per-row work (indexes, foreign keys, the search-index and analysis-queue
# triggers) and one connection uses one core; shards by day because the rollup trigger
# locks one conversas_resumo row per (cliente, day, status, rating) until commit, so
# shards by number would wait for each other there. Every row a shard writes or locks
# belongs to its days' conversas: the shards never wait for each other.
WRITER_SHARDS = 2
# Lock waits on a shard's connection end in an error instead of a hang (they cannot
# happen by construction; this is the safety net against a cycle through Python).
SHARD_LOCK_TIMEOUT = "120s"


def _write_chunk(run: _Run, batch: _Batch) -> None:
    """Write one batch under the per-cliente lock, with the cursor.

    On SQLite (and for a small chunk) in one transaction. On PostgreSQL the conversas of
    other day shards go through their own connections, in parallel, each in its own
    transaction committed before this one: if this one then fails, the position is not
    saved and the next run re-reads the chunk, which the unique keys make harmless.
    """
    with run.engine.begin() as conn:
        _lock_cliente(conn, run)
        new, extensions = _plan(conn, run, batch.numbers)
        parts = [part for part in _shards(run, new, extensions) if part[0] or part[1]] or [([], [])]
        futures: list[Future] = []
        if run.pool is not None:
            futures = [run.pool.submit(_write_shard, run, *part) for part in parts[1:]]
            parts = parts[:1]
        counts: list[IngestSummary] = []
        errors: list[Exception] = []
        try:
            counts.extend(_write_part(conn, run, *part) for part in parts)
        finally:
            for future in futures:  # never leave a shard running past this transaction
                try:
                    counts.append(future.result())
                except Exception as exc:  # noqa: BLE001 - re-raised below
                    errors.append(exc)
        if errors:
            raise errors[0]
        for part in counts:
            _add_counts(run.summary, part)
        _insert_rejected(conn, run, batch.rejected)
        _count_read(run.summary, batch)
        _save_progress(conn, run, batch.position)


def _shards(run: _Run, new: list[_NewConversa], extensions: list[_Extension]
            ) -> list[tuple[list[_NewConversa], list[_Extension]]]:
    """The chunk's conversas by day shard (one shard unless a pool of writers exists)."""
    if run.pool is None or len(new) + len(extensions) < 2 * WRITER_SHARDS:
        return [(new, extensions)]
    parts: list[tuple[list[_NewConversa], list[_Extension]]] = [([], []) for _ in range(WRITER_SHARDS)]
    for conversa in new:  # stays sorted within each shard
        parts[_local_day(run, conversa.messages[0][TS]).toordinal() % WRITER_SHARDS][0].append(conversa)
    for extension in extensions:
        parts[extension.dia.toordinal() % WRITER_SHARDS][1].append(extension)
    return parts


def _write_shard(run: _Run, new: list[_NewConversa], extensions: list[_Extension]) -> IngestSummary:
    with run.engine.begin() as conn:
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{SHARD_LOCK_TIMEOUT}'")
        return _write_part(conn, run, new, extensions)


def _write_part(conn: Connection, run: _Run, new: list[_NewConversa], extensions: list[_Extension]
                ) -> IngestSummary:
    """Conversas, messages and counts of (a shard of) a chunk; returns what it added."""
    counts = IngestSummary(cliente=run.summary.cliente)
    _insert_conversas(conn, run, new)
    rows = _message_rows(run, new, extensions)
    inserted = _insert_mensagens(conn, rows)
    _apply_counts(conn, run, counts, new, extensions, rows, inserted)
    return counts


def _add_counts(summary: IngestSummary, part: IngestSummary) -> None:
    summary.mensagens_novas += part.mensagens_novas
    summary.conversas_novas += part.conversas_novas
    summary.conversas_estendidas += part.conversas_estendidas
    summary.duplicadas += part.duplicadas


def _lock_cliente(conn: Connection, run: _Run) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:ns, :id)"),
                     {"ns": ADVISORY_NAMESPACE, "id": run.cliente_id})
    else:
        # A write first, so SQLite takes its write lock before anything is read.
        conn.execute(update(Importacao).where(Importacao.id == run.importacao_id)
                     .values(posicao_final=Importacao.posicao_final))


def _plan(conn: Connection, run: _Run, numbers: list[tuple[str, Groups]]
          ) -> tuple[list[_NewConversa], list[_Extension]]:
    """The reader split each number's messages; the first group extends the number's open conversa."""
    latest = _latest_conversas(conn, run.cliente_id, [whatsapp for whatsapp, _ in numbers])
    new: list[_NewConversa] = []
    extensions: list[_Extension] = []
    for whatsapp, groups in numbers:
        first = 0
        previous = latest.get(whatsapp)
        if previous is not None:
            conversa_id, inicio_ms, ultima_ms, dia = previous
            if inicio_ms <= groups[0][0][0][TS] <= ultima_ms + run.gap_ms:
                extensions.append(_Extension(conversa_id, ultima_ms, groups[0][0], dia))
                first = 1
        new.extend(_NewConversa(whatsapp, messages, modelo) for messages, modelo in groups[first:])
    new.sort(key=lambda c: (c.whatsapp, c.messages[0][TS]))  # one insert order for every run
    return new, extensions


def _latest_conversas(conn: Connection, cliente_id: int, numbers: list[str]
                      ) -> dict[str, tuple[int, int, int, dt.date]]:
    """number -> (id, start ms, last message ms, day) of its most recent conversa."""
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT DISTINCT ON (whatsapp) id, whatsapp, iniciada_em, ultima_mensagem_em, dia "
            "FROM conversas WHERE cliente_id = %(c)s AND whatsapp = ANY(%(n)s) "
            "ORDER BY whatsapp, iniciada_em DESC", {"c": cliente_id, "n": numbers})
        return {r.whatsapp: (r.id, to_epoch_ms(r.iniciada_em), to_epoch_ms(r.ultima_mensagem_em), r.dia)
                for r in rows}
    result = {}
    for start in range(0, len(numbers), 5_000):
        chunk = numbers[start:start + 5_000]
        newest = (select(Conversa.whatsapp, func.max(Conversa.iniciada_em).label("inicio"))
                  .where(Conversa.cliente_id == cliente_id, Conversa.whatsapp.in_(chunk))
                  .group_by(Conversa.whatsapp).subquery())
        rows = conn.execute(
            select(Conversa.id, Conversa.whatsapp, Conversa.iniciada_em, Conversa.ultima_mensagem_em,
                   Conversa.dia)
            .join(newest, and_(Conversa.whatsapp == newest.c.whatsapp,
                               Conversa.iniciada_em == newest.c.inicio))
            .where(Conversa.cliente_id == cliente_id))
        for row in rows:
            result[row.whatsapp] = (row.id, to_epoch_ms(row.iniciada_em), to_epoch_ms(row.ultima_mensagem_em),
                                    row.dia)
    return result


def _dialect_insert(conn: Connection, table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _local_day(run: _Run, ts_ms: int) -> dt.date:
    # Time zone offsets are whole quarter hours, so one lookup per quarter hour is exact.
    quarter = ts_ms // 900_000
    day = run.days.get(quarter)
    if day is None:
        day = run.days[quarter] = local_day(_naive_utc(quarter * 900_000))
    return day


def _insert_conversas(conn: Connection, run: _Run, new: list[_NewConversa]) -> None:
    """Insert the new conversas (skipping any that exist) and learn every id."""
    if not new:
        return
    rows = []
    for conversa in new:
        first, last = conversa.messages[0], conversa.messages[-1]
        rows.append({
            "cliente_id": run.cliente_id, "whatsapp": conversa.whatsapp, "iniciada_em": first[WHEN],
            "ultima_mensagem_em": last[WHEN], "dia": _local_day(run, first[TS]),
            "status": derive_status(last[ROLE], last[TS], run.now_ms, run.gap_ms),
            "modelo_usado": conversa.modelo_usado,
            "total_mensagens": len(conversa.messages),
        })
    if conn.dialect.name == "postgresql":
        ids = _copy_new_conversas(conn, rows)
        if ids is not None:
            for conversa, conversa_id in zip(new, ids):
                conversa.id, conversa.created = conversa_id, True
            return
        # Some already exist (another run, or a re-read): insert the others, skip those.
        created = _copy_conversas(conn, rows)
    else:
        table = Conversa.__table__
        stmt = (_dialect_insert(conn, table)
                .on_conflict_do_nothing(index_elements=["cliente_id", "whatsapp", "iniciada_em"])
                .returning(table.c.id, table.c.whatsapp, table.c.iniciada_em))
        created = {(r.whatsapp, to_epoch_ms(r.iniciada_em)): r.id for r in conn.execute(stmt, rows)}
    for conversa in new:
        found = created.get((conversa.whatsapp, conversa.messages[0][TS]))
        if found is not None:
            conversa.id, conversa.created = found, True
        else:  # another run created it first: it is extended, not new
            conversa.id = conn.scalar(select(Conversa.id).where(
                Conversa.cliente_id == run.cliente_id, Conversa.whatsapp == conversa.whatsapp,
                Conversa.iniciada_em == from_epoch_ms(conversa.messages[0][TS])))


CONVERSA_COLS = ("cliente_id", "whatsapp", "iniciada_em", "ultima_mensagem_em", "dia", "status",
                 "modelo_usado", "total_mensagens")


CONVERSA_TYPES = ("int4", "varchar", "timestamp", "timestamp", "date", "varchar", "varchar", "int4")


def _copy_new_conversas(conn: Connection, rows: list[dict]) -> list[int] | None:
    """Binary COPY straight into conversas with ids taken from its sequence beforehand;
    the ids in the order of `rows`, or None (rolled back) if any of them already existed.

    The usual case, a first import of these messages, so it skips the temporary table and
    the INSERT ... ON CONFLICT ... RETURNING of `_copy_conversas` (the unique constraint
    still decides: a duplicate aborts the COPY and the slower path runs instead).
    """
    import psycopg

    ids = [row[0] for row in conn.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence('conversas', 'id')) "
        "FROM generate_series(1, %(n)s)", {"n": len(rows)})]
    savepoint = conn.begin_nested()
    try:
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy(f"COPY conversas (id, {', '.join(CONVERSA_COLS)}) FROM STDIN "
                          "(FORMAT BINARY)") as copy:
                copy.set_types(("int4", *CONVERSA_TYPES))
                for conversa_id, row in zip(ids, rows):
                    copy.write_row((conversa_id, *(row[c] for c in CONVERSA_COLS)))
    except psycopg.errors.UniqueViolation:
        savepoint.rollback()
        return None
    savepoint.commit()
    return ids


def _copy_conversas(conn: Connection, rows: list[dict]) -> dict[tuple[str, int], int]:
    """COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING RETURNING."""
    cols = ", ".join(CONVERSA_COLS)
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS ingest_conversas (cliente_id integer, whatsapp varchar(32), "
        "iniciada_em timestamp, ultima_mensagem_em timestamp, dia date, status varchar(20), "
        "modelo_usado varchar(200), total_mensagens integer) ON COMMIT DELETE ROWS")
    with conn.connection.driver_connection.cursor() as cur:
        with cur.copy(f"COPY ingest_conversas ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[c] for c in CONVERSA_COLS))
    result = conn.exec_driver_sql(
        f"INSERT INTO conversas ({cols}) SELECT {cols} FROM ingest_conversas "
        "ORDER BY whatsapp, iniciada_em "
        "ON CONFLICT (cliente_id, whatsapp, iniciada_em) DO NOTHING "
        "RETURNING id, whatsapp, iniciada_em")
    return {(r.whatsapp, to_epoch_ms(r.iniciada_em)): r.id for r in result}


def _message_rows(run: _Run, new: list[_NewConversa], extensions: list[_Extension]) -> list[tuple]:
    rows: list[tuple] = []
    append, cliente_id = rows.append, run.cliente_id
    groups = [(c.id, c.messages) for c in new] + [(e.conversa_id, e.messages) for e in extensions]
    for conversa_id, messages in groups:
        for role, content, when, key, modelo, _ts in messages:
            append((conversa_id, cliente_id, role, content, when, key, modelo))
    return rows


MENSAGEM_COLS = ("conversa_id", "cliente_id", "role", "conteudo", "enviada_em", "redis_key", "modelo")
MENSAGEM_TYPES = ("int4", "int4", "varchar", "text", "timestamp", "varchar", "varchar")


def _insert_mensagens(conn: Connection, rows: list[tuple]) -> set[str] | None:
    """Insert the messages; None when all went in, else the keys that did."""
    if not rows:
        return None
    if conn.dialect.name == "postgresql" and _copy_mensagens(conn, rows):
        return None
    table = Mensagem.__table__
    stmt = (_dialect_insert(conn, table)
            .on_conflict_do_nothing(index_elements=["cliente_id", "redis_key"])
            .returning(table.c.redis_key))
    keys = set(conn.scalars(stmt, [dict(zip(MENSAGEM_COLS, row)) for row in rows]))
    return None if len(keys) == len(rows) else keys


def _copy_mensagens(conn: Connection, rows: list[tuple]) -> bool:
    """COPY straight into mensagens; False (rolled back) if any key was already there.

    The unique constraint rejects the whole COPY on a duplicate, and then the slower
    INSERT ... ON CONFLICT DO NOTHING does the job: the database decides, not luck.
    """
    import psycopg

    savepoint = conn.begin_nested()
    try:
        with conn.connection.driver_connection.cursor() as cur:
            # Binary COPY: the server skips parsing text timestamps and numbers.
            with cur.copy(f"COPY mensagens ({', '.join(MENSAGEM_COLS)}) FROM STDIN "
                          "(FORMAT BINARY)") as copy:
                copy.set_types(MENSAGEM_TYPES)
                for row in rows:
                    copy.write_row(row)
    except psycopg.errors.UniqueViolation:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def _apply_counts(conn: Connection, run: _Run, summary: IngestSummary, new: list[_NewConversa],
                  extensions: list[_Extension], rows: list[tuple], inserted: set[str] | None) -> None:
    """Bring total, last message and status of every touched conversa up to date."""
    recount: set[int] = set()
    if inserted is None:
        summary.mensagens_novas += len(rows)
        created = [c for c in new if c.created]
        summary.conversas_novas += len(created)
        recount.update(c.id for c in new if not c.created)
        summary.conversas_estendidas += len(recount) + len(extensions)
        in_order = [e for e in extensions if e.messages[0][TS] >= e.ultima_ms]
        recount.update(e.conversa_id for e in extensions if e.messages[0][TS] < e.ultima_ms)
        _extend(conn, run, in_order)
    else:
        summary.mensagens_novas += len(inserted)
        summary.duplicadas += len(rows) - len(inserted)
        got = Counter(row[0] for row in rows if row[5] in inserted)
        summary.conversas_novas += sum(1 for c in new if c.created and got[c.id])
        summary.conversas_estendidas += sum(1 for c in new if not c.created and got[c.id])
        summary.conversas_estendidas += sum(1 for e in extensions if got[e.conversa_id])
        recount.update(c.id for c in new)
        recount.update(e.conversa_id for e in extensions)
        empty = [c.id for c in new if c.created and not got[c.id]]
        if empty:  # every message of it was already imported elsewhere
            conn.execute(Conversa.__table__.delete().where(Conversa.id.in_(empty)))
            recount.difference_update(empty)
    _recount(conn, run, sorted(recount))


def _extend(conn: Connection, run: _Run, extensions: list[_Extension]) -> None:
    """Later messages appended to open conversas (the lock makes the increments exact)."""
    if not extensions:
        return
    params = []
    for e in extensions:
        last = e.messages[-1]
        params.append({"cid": e.conversa_id, "n": len(e.messages), "ultima": from_epoch_ms(last[TS]),
                       "st": derive_status(last[ROLE], last[TS], run.now_ms, run.gap_ms)})
    table = Conversa.__table__
    conn.execute(
        update(table).where(table.c.id == bindparam("cid")).values(
            total_mensagens=table.c.total_mensagens + bindparam("n"),
            ultima_mensagem_em=bindparam("ultima"), status=bindparam("st")),
        params)


def _recount(conn: Connection, run: _Run, ids: list[int]) -> None:
    """Recompute totals, last message and status of these conversas from their messages."""
    limite = from_epoch_ms(run.now_ms - run.gap_ms)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        conn.execute(text(f"""
            UPDATE conversas SET
                total_mensagens = (SELECT count(*) FROM mensagens m WHERE m.conversa_id = conversas.id),
                ultima_mensagem_em = (SELECT max(m.enviada_em) FROM mensagens m
                                      WHERE m.conversa_id = conversas.id),
                status = CASE
                    WHEN (SELECT m.role FROM mensagens m WHERE m.conversa_id = conversas.id
                          ORDER BY m.enviada_em DESC, m.redis_key DESC LIMIT 1) = 'user'
                        THEN 'aguardando'
                    WHEN (SELECT max(m.enviada_em) FROM mensagens m
                          WHERE m.conversa_id = conversas.id) >= :limite THEN 'ativa'
                    ELSE 'finalizada' END
            WHERE id IN ({', '.join(str(int(i)) for i in chunk)})"""), {"limite": limite})


def _insert_rejected(conn: Connection, run: _Run, rejected: list[Rejected]) -> None:
    if not rejected:
        return
    table = EntradaRejeitada.__table__
    stmt = _dialect_insert(conn, table).on_conflict_do_nothing(index_elements=["cliente_id", "redis_key"])
    conn.execute(stmt, [{"cliente_id": run.cliente_id, "importacao_id": run.importacao_id,
                         "redis_key": r.key, "motivo": r.motivo, "trecho": r.trecho}
                        for r in rejected])


def _counters(summary: IngestSummary) -> dict:
    return {
        "lidas": summary.lidas, "mensagens_novas": summary.mensagens_novas,
        "conversas_novas": summary.conversas_novas,
        "conversas_estendidas": summary.conversas_estendidas,
        "duplicadas": summary.duplicadas, "expiradas": summary.expiradas,
        "rejeitadas": summary.total_rejeitadas,
        "rejeitadas_por_motivo": json.dumps(summary.rejeitadas, sort_keys=True),
    }


def _save_progress(conn: Connection, run: _Run, position: int) -> None:
    conn.execute(update(Importacao).where(Importacao.id == run.importacao_id)
                 .values(posicao_final=position, **_counters(run.summary)))


def _finish(run: _Run) -> None:
    """Close the run: counters, error, and conversas whose window has now passed."""
    summary = run.summary
    summary.concluida_em = utcnow()
    with run.engine.begin() as conn:
        conn.execute(update(Conversa.__table__).where(
            Conversa.cliente_id == run.cliente_id, Conversa.status == "ativa",
            Conversa.ultima_mensagem_em < from_epoch_ms(run.now_ms - run.gap_ms),
        ).values(status="finalizada"))
        conn.execute(update(Importacao).where(Importacao.id == run.importacao_id).values(
            concluida_em=summary.concluida_em, erro=summary.erro, **_counters(summary)))


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
    redis_url = (redis_url or "").strip() or None
    if redis_url and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise InvalidInput("URL do Redis inválida: use redis://host:porta/N, rediss://... ou unix://...")
    if not 0 <= int(redis_db) <= 1_000:
        raise InvalidInput("Número do banco do Redis inválido: use um inteiro a partir de 0.")
    redis_prefix = (redis_prefix or "").strip()
    if len(redis_prefix) > 100 or any(c in redis_prefix for c in "*?[] "):
        raise InvalidInput("Prefixo de chaves inválido: até 100 caracteres, sem espaços nem * ? [ ].")
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
