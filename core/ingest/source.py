"""Reading the bot's Redis list: batches of keys, their values fetched with a Lua script that
checks type and size inside Redis (FETCH_SCRIPT), parsed and split per number (_read_batch).

A large import reads in a separate process (_read_in_process) that never outlives the import
that started it (_end_with_parent); a small one in a thread (core.ingest.pipeline._walk).
"""
from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import pickle
import queue
import signal
import sys
import threading
from collections import defaultdict
from dataclasses import dataclass, field

import redis

from core.clientes.redis_source import RedisSource, connect
from core.ingest.parse import (
    EXCERPT_CHARS,
    KEY,
    ROLE,
    TS,
    Message,
    ModelTimeline,
    Rejected,
    _naive_utc,
    excerpt,
    max_value_bytes,
    parse_key,
    parse_payload,
    split_by_inactivity,
)

log = logging.getLogger("curadoria.ingest")

LIST_KEY = "all_conversations"
FETCH_BATCH = 5_000  # keys per EVALSHA of FETCH_SCRIPT (several per pipelined round trip)


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
