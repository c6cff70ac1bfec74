"""Benchmark: import ~1M bot messages from Redis into PostgreSQL (budget: >= 50,000 msg/s and
>= 10x the seed's own read path, measured in the same run).

    .venv/bin/python bench/ingest.py [--conversas 138000] [--seed-sample 200000]
    .venv/bin/python bench/ingest.py --forma chats [--mensagens 1000000] [--contatos 12000]

--forma chats loads data shaped like real WhatsApp chats instead of the demo
(bench/chats_shape.py: ~5 messages per conversa, returning contacts, collisions,
malformed entries). The import's time includes bringing search up to date
(core.review.search_index.update_search), which is also timed on its own.

It creates its own database (curadoria_bench_ingest) and a unique Redis key prefix, loads
the demo with `python -m core demo --redis`, times `core.ingest.pipeline.ingest_cliente` (first run,
then a second run that must add nothing), times the seed's read path (LRANGE of
all_conversations, then one GET per key, as getAllConversationsForFineTuning does) on a
sample of the same keys, and then drops the database and deletes its own keys (never
FLUSHDB).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DB_NAME = os.environ.get("BENCH_INGEST_DB", "curadoria_bench_ingest")


def recreate_database(admin) -> str:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{DB_NAME}"


def load_demo(prefix: str, conversas: int) -> str:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "core", "demo", "--redis", "--redis-url", REDIS_URL,
         "--prefix", prefix, "--conversas", str(conversas)],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    print(f"{out} (carga: {time.perf_counter() - started:.1f} s)")
    return out


def seed_read_path(client: redis.Redis, prefix: str, sample: int) -> tuple[int, float, float]:
    """The seed's read path: LRANGE 0 -1, then one GET (and JSON.parse) per key."""
    started = time.perf_counter()
    keys = client.lrange(prefix + "all_conversations", 0, -1)
    lrange_s = time.perf_counter() - started
    started = time.perf_counter()
    read = 0
    for key in keys[:sample]:
        value = client.get(key)
        if value is not None:
            try:
                json.loads(value)
            except ValueError:  # malformed entry (--forma chats): skipped, as the seed's try does
                pass
        read += 1
    return read, lrange_s, time.perf_counter() - started


def delete_prefix(client: redis.Redis, prefix: str) -> int:
    deleted = 0
    batch = []
    for key in client.scan_iter(match=f"{prefix}*", count=10_000):
        batch.append(key)
        if len(batch) >= 10_000:
            deleted += client.delete(*batch)
            batch = []
    if batch:
        deleted += client.delete(*batch)
    return deleted


# Diagnostic ablations (--desligar): each entry switches off one piece of the work the
# database does per imported row, so the difference in time is that piece's cost.
ABLATIONS = {
    "busca": ["ALTER TABLE mensagens DISABLE TRIGGER trg_conversas_busca_insert"],
    "busca_gin": ["DROP INDEX ix_conversas_busca_documento"],
    "analise": ["ALTER TABLE mensagens DISABLE TRIGGER trg_analise_fila_insert"],
    "resumo": ["ALTER TABLE conversas DISABLE TRIGGER trg_conversas_resumo_insert",
               "ALTER TABLE conversas DISABLE TRIGGER trg_conversas_resumo_update"],
    "indices_conversas": [f"DROP INDEX {name}" for name in (
        "ix_conversas_iniciada", "ix_conversas_cliente_iniciada", "ix_conversas_avaliacao_iniciada",
        "ix_conversas_status_iniciada", "ix_conversas_cliente_ultima", "ix_conversas_ultima")],
    "indice_mensagens": ["DROP INDEX ix_mensagens_conversa_enviada"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversas", type=int, default=138_000,
                        help="demo conversas to load (~7.25 messages each; 138,000 ~ 1M messages)")
    parser.add_argument("--forma", choices=("demo", "chats"), default="demo",
                        help="demo: the demo generator; chats: shaped like real chats")
    parser.add_argument("--mensagens", type=int, default=1_000_000,
                        help="--forma chats: list entries to write")
    parser.add_argument("--contatos", type=int, default=12_000,
                        help="--forma chats: returning contacts")
    parser.add_argument("--seed-sample", type=int, default=200_000,
                        help="list entries read one GET at a time for the seed's read path")
    parser.add_argument("--sem-derivados", action="store_true",
                        help="diagnostic: the same as --desligar busca,analise "
                        "(the search-index and analysis-queue triggers on mensagens)")
    parser.add_argument("--desligar", default="",
                        help="diagnostic, comma-separated: what to switch off during the import "
                        f"to see what it costs ({', '.join(ABLATIONS)})")
    parser.add_argument("--keep", action="store_true", help="keep the database and the keys")
    args = parser.parse_args()
    desligar = [parte for parte in args.desligar.split(",") if parte]
    if args.sem_derivados:  # the search index and the analysis queue
        desligar += [parte for parte in ("busca", "analise") if parte not in desligar]
    for parte in desligar:
        if parte not in ABLATIONS:
            parser.error(f"--desligar: {parte!r} desconhecido ({', '.join(ABLATIONS)})")

    prefix = f"bench:ingest:{uuid.uuid4().hex[:10]}:"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    client = redis.Redis.from_url(REDIS_URL)
    url = recreate_database(admin)
    os.environ["DATABASE_URL"] = url
    from core.clientes.directory import ensure_cliente
    from core.db import get_engine, session_scope, upgrade_database
    from core.db.engine import dispose_engines
    from core.ingest.pipeline import ingest_cliente

    try:
        upgrade_database(url)
        engine = get_engine(url)
        with session_scope(engine) as session:
            ensure_cliente(session, "bench", "Bench", redis_url=REDIS_URL, redis_prefix=prefix)
        if args.forma == "chats":
            from bench.chats_shape import load_chats
            from core.clock import to_epoch_ms, utcnow

            started = time.perf_counter()
            load_chats(client, prefix, args.mensagens, to_epoch_ms(utcnow()), args.contatos)
            print(f"chats: {args.mensagens:,} entries, {args.contatos:,} contacts "
                  f"(carga: {time.perf_counter() - started:.1f} s)")
        else:
            load_demo(prefix, args.conversas)
        import core.ingest.pipeline as pipeline

        search_s: list[float] = []  # of the first run
        update_search = getattr(pipeline, "update_search", None)  # None: code before 0016

        def timed_update_search(engine):
            started = time.perf_counter()
            try:
                return update_search(engine)
            finally:
                search_s.append(time.perf_counter() - started)
        if update_search is not None:
            pipeline.update_search = timed_update_search
        listed = client.llen(prefix + "all_conversations")

        for parte in desligar:
            with engine.begin() as conn:
                for statement in ABLATIONS[parte]:
                    conn.execute(text(statement))
        if desligar:
            print(f"switched off: {', '.join(desligar)}")
        first = ingest_cliente(engine, "bench")
        print(first.texto())
        first_search = list(search_s) or [0.0]
        second = ingest_cliente(engine, "bench")
        print(second.texto())
        with engine.connect() as conn:
            stored = conn.scalar(text("SELECT count(*) FROM mensagens"))
            conversas = conn.scalar(text("SELECT count(*) FROM conversas"))

        seed_n, lrange_s, seed_s = seed_read_path(client, prefix, args.seed_sample)
        ours = first.lidas / first.segundos
        seed = seed_n / seed_s
        print()
        print(f"list entries: {listed:,}; messages stored: {stored:,} in {conversas:,} conversas")
        print(f"import, first run: {first.segundos:.1f} s -> {ours:,.0f} list entries/s "
              f"({first.mensagens_novas / first.segundos:,.0f} new messages/s)")
        print(f"  of which bringing queued search documents up to date: {sum(first_search):.1f} s")
        print(f"import, second run: {second.segundos:.2f} s, {second.mensagens_novas} new messages")
        print(f"seed read path: LRANGE {listed:,} keys in {lrange_s:.1f} s; {seed_n:,} GETs in "
              f"{seed_s:.1f} s -> {seed:,.0f} entries/s")
        print(f"speed-up over the seed's read path: {ours / seed:.1f}x")
        print(f"budget: >= 50,000/s {'OK' if ours >= 50_000 else 'MISSED'}; "
              f">= 10x {'OK' if ours >= 10 * seed else 'MISSED'}")
    finally:
        if not args.keep:
            print(f"deleted {delete_prefix(client, prefix):,} Redis keys under {prefix}")
            dispose_engines()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
