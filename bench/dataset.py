"""Benchmark: good conversas -> training JSONL (budget: 100k in <= 10 s, flat memory).

Loads demo conversas into a dedicated PostgreSQL database (once; reused afterwards):
cliente padaria-pao-dourado gets 100,000 conversas and moda-bella 10,000, all rated
"boa". Then each export runs in a fresh subprocess, twice per size: once plain (wall
time and peak RSS), once under tracemalloc (peak Python allocation; slower, not timed).

    .venv/bin/python bench/dataset.py [--url URL] [--reload] [--sizes 10000,100000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/curadoria_bench_dataset"
SIZES = {100_000: "padaria-pao-dourado", 10_000: "moda-bella"}


def _ensure_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def load(url: str, reload: bool) -> None:
    from sqlalchemy import func, select, text

    from core.demo import generate as demo
    from core.demo.content import CLIENTES
    from core.db import get_engine, upgrade_database
    from core.db.tables import Cliente, Conversa

    _ensure_database(url)
    upgrade_database(url)
    engine = get_engine(url)
    if reload:
        demo.delete_demo_data(engine)
    anchor = dt.datetime(2026, 11, 20)
    for size, slug in SIZES.items():
        with engine.connect() as conn:
            have = conn.scalar(select(func.count()).select_from(Conversa).join(Cliente)
                               .where(Cliente.slug == slug, Conversa.avaliacao == "boa"))
        if have == size:
            continue
        started = time.perf_counter()
        cliente = [c for c in CLIENTES if c["slug"] == slug]
        demo.load_database(engine, demo.generate_conversations(size, seed=size, anchor=anchor,
                                                               clientes=cliente), anchor)
        with engine.begin() as conn:
            conn.execute(text("UPDATE conversas SET avaliacao = 'boa', avaliado_em = iniciada_em "
                              "WHERE cliente_id = (SELECT id FROM clientes WHERE slug = :s) "
                              "AND avaliacao IS DISTINCT FROM 'boa'"), {"s": slug})
            conn.execute(text("ANALYZE conversas; ANALYZE mensagens"))
        print(f"carregadas {size} conversas boas de {slug} em {time.perf_counter() - started:.0f} s",
              flush=True)


def child(url: str, slug: str, out: str, trace: bool) -> None:
    """Run one export in this (fresh) process and print its figures as JSON."""
    import resource
    import tracemalloc

    os.environ["DATABASE_URL"] = url
    from core.training.dataset import export_dataset
    from core.db import session_scope
    from core.training import tokens

    tokens.get_encoding("o200k_base")  # vocabulary load is a one-off per process
    if trace:
        tracemalloc.start()
    started, cpu = time.perf_counter(), time.process_time()
    with session_scope() as session:
        report = export_dataset(session, slug, Path(out))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    figures = {"segundos": round(elapsed, 2), "cpu_segundos": round(cpu, 2), "exemplos": report.exemplos + report.exemplos_validacao,
               "pico_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
               "bytes": Path(out).stat().st_size, "tokens": report.tokens_exemplos, "ok": report.ok}
    if trace:
        figures["pico_tracemalloc_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    print(json.dumps(figures))


def run(url: str, sizes: list[int]) -> None:
    out_dir = Path("/tmp/curadoria_bench_dataset")
    out_dir.mkdir(exist_ok=True)
    for size in sizes:
        slug = SIZES[size]
        for trace in (False, True):
            cmd = [sys.executable, __file__, "--child", slug, "--url", url,
                   "--out", str(out_dir / f"{slug}.jsonl")] + (["--trace"] if trace else [])
            result = subprocess.run(cmd, capture_output=True, text=True, check=True)
            print(f"{size:>7} conversas {'tracemalloc' if trace else 'tempo/RSS  '}: {result.stdout.strip()}",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--child")
    parser.add_argument("--out")
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.url, args.child, args.out, args.trace)
        return
    load(args.url, args.reload)
    run(args.url, [int(s) for s in args.sizes.split(",")])


if __name__ == "__main__":
    main()
