"""Benchmark: the import's read path alone (Redis -> parsed batches), no database.

    .venv/bin/python bench/ingest_reader.py [--conversas 40000] [--rodadas 5] [--prefix P]

The end-to-end benchmark (bench/ingest.py) is dominated by PostgreSQL and swings by
50 % with the machine's load; this one times only what the reader does for each batch
of CURADORIA_INGEST_LOTE list entries (LRANGE, fetching the values, parsing, splitting),
on the demo data in Redis, and reports its wall time, its own CPU time and the Redis
server's CPU time (INFO cpu; other clients of the same Redis count too). Run it from two
checkouts alternately, with the same --prefix (loaded once with --manter), to compare
two versions of core/ingest.py.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def server_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return info["used_cpu_sys"] + info["used_cpu_user"]


def read_everything(prefix: str) -> tuple[int, float, float, float, int]:
    """(entries, wall s, own CPU s, Redis CPU s, messages) of reading the whole list once."""
    from core.clock import to_epoch_ms, utcnow
    from core.config import get_settings
    from core.clientes.redis_source import RedisSource
    from core.ingest.parse import ModelTimeline
    from core.ingest.source import LIST_KEY, _read_batch, _ReaderState
    from core.db.tables import Cliente

    settings = get_settings()
    source = RedisSource(REDIS_URL, 0, prefix)
    models = ModelTimeline(Cliente(modelo_base="gpt-4.1-mini-2025-04-14", modelo_ativo=None), [])
    state = _ReaderState(source, settings.ingest_lote, settings.ingest_max_caracteres,
                         to_epoch_ms(utcnow()), settings.ingest_inatividade_minutos * 60_000, models)
    client = redis.Redis.from_url(REDIS_URL)
    length = client.llen(prefix + LIST_KEY)
    messages = 0
    cpu0, srv0, wall0 = time.process_time(), server_cpu(client), time.perf_counter()
    for position in range(0, length, state.lote):
        raw_keys = client.lrange(prefix + LIST_KEY, position, position + state.lote - 1)
        batch = _read_batch(client, state, raw_keys, position + len(raw_keys))
        messages += sum(len(m) for _, groups in batch.numbers for m, _ in groups)
    return (length, time.perf_counter() - wall0, time.process_time() - cpu0,
            server_cpu(client) - srv0, messages)


def delete_prefix(client: redis.Redis, prefix: str) -> None:
    batch = []
    for key in client.scan_iter(match=f"{prefix}*", count=10_000):
        batch.append(key)
        if len(batch) >= 10_000:
            client.delete(*batch)
            batch = []
    if batch:
        client.delete(*batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversas", type=int, default=40_000, help="demo conversas to load")
    parser.add_argument("--rodadas", type=int, default=5, help="times to read the whole list")
    parser.add_argument("--prefix", help="use the keys already under this prefix (no load)")
    parser.add_argument("--manter", action="store_true", help="keep the keys afterwards")
    args = parser.parse_args()
    client = redis.Redis.from_url(REDIS_URL)
    prefix = args.prefix or f"bench:reader:{uuid.uuid4().hex[:10]}:"
    try:
        if not args.prefix:
            subprocess.run([sys.executable, "-m", "core", "demo", "--redis", "--redis-url", REDIS_URL,
                            "--prefix", prefix, "--conversas", str(args.conversas)],
                           cwd=ROOT, check=True, capture_output=True)
            print(f"prefix {prefix}")
        for _ in range(args.rodadas):
            entries, wall, cpu, srv, messages = read_everything(prefix)
            print(f"{entries:,} entries ({messages:,} messages): {wall:.2f} s wall "
                  f"= {entries / wall:,.0f}/s; reader CPU {cpu:.2f} s; Redis CPU {srv:.2f} s; "
                  f"load {os.getloadavg()[0]:.1f}")
    finally:
        if not args.manter and not args.prefix:
            delete_prefix(client, prefix)


if __name__ == "__main__":
    main()
