"""Benchmark: Análise de Treinamento at scale (budget: summary + readiness <= 300 ms at 1M).

Usage (a copy of the 1M demo database, migrated; never the shared original):
    DATABASE_URL=postgresql://postgres@127.0.0.1/curadoria_bench_1m_anl \
        .venv/bin/python bench/analysis.py [--repeticoes 30] [--analisar N]

Prints median / p95 / max wall time of each step (warm cache: one unmeasured run first):
- overview: summary per cliente and overall + readiness of each cliente (the budget);
- overview with a cliente and a 30-day period;
- the page's whole get_analysis (problems, topics incl. clustering, series, queue size);
- with --analisar N: analyze_pending throughput on N queued conversas first.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from core.clientes.directory import list_clientes  # noqa: E402
from core.db import get_engine, session_scope  # noqa: E402
from core.db.tables import Conversa, ConversaResumo  # noqa: E402
from core.review.analysis import Filtro, analyze_pending, count_pending, get_analysis, get_overview  # noqa: E402


def timed(fn, repeticoes: int) -> list[float]:
    fn()  # warm-up: connection pool, plans, page cache
    tempos = []
    for _ in range(repeticoes):
        start = time.perf_counter()
        fn()
        tempos.append((time.perf_counter() - start) * 1000)
    return tempos


def report(nome: str, tempos: list[float]) -> None:
    ordenados = sorted(tempos)
    p95 = ordenados[max(0, int(round(0.95 * len(ordenados))) - 1)]
    print(f"{nome:<45} median {statistics.median(tempos):8.1f} ms   p95 {p95:8.1f} ms   "
          f"max {max(tempos):8.1f} ms   (n={len(tempos)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeticoes", type=int, default=30)
    parser.add_argument("--analisar", type=int, default=0)
    args = parser.parse_args()
    engine = get_engine()
    with session_scope(engine) as session:
        conversas = session.scalar(select(func.sum(ConversaResumo.total)))
        maior = session.scalar(select(func.max(Conversa.dia)))
        clientes = list_clientes(session)
        print(f"{engine.dialect.name}: {conversas:,} conversas, {len(clientes)} clientes, "
              f"{count_pending(session):,} na fila de análise")
    if args.analisar:
        start = time.perf_counter()
        feitas = analyze_pending(engine, limite=args.analisar)
        segundos = time.perf_counter() - start
        print(f"analyze_pending: {feitas:,} conversas em {segundos:.1f} s "
              f"({feitas / segundos:,.0f} conversas/s)")

    def run(filtro: Filtro, what):
        def call():
            with session_scope(engine) as session:
                return what(session, filtro)
        return call

    um_cliente = Filtro(clientes[0].id, maior - dt.timedelta(days=30), None)
    report("overview (summary + readiness), all", timed(run(Filtro(), get_overview), args.repeticoes))
    report("overview, one cliente, 30 days", timed(run(um_cliente, get_overview), args.repeticoes))
    report("get_analysis (whole page), all", timed(run(Filtro(), get_analysis), max(3, args.repeticoes // 5)))
    report("get_analysis, one cliente, 30 days", timed(run(um_cliente, get_analysis), max(3, args.repeticoes // 5)))


if __name__ == "__main__":
    main()
