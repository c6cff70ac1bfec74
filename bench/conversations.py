"""Benchmark of the conversation list, search, counters and rating writes.

Not a test: run it against a large database and copy the table to docs/BENCHMARKS.md.

    DATABASE_URL=postgresql://postgres@127.0.0.1/curadoria_bench_1m_conv \\
        .venv/bin/python bench/conversations.py --repeticoes 5

Each call runs in its own session, as a page run does. Times include the round trips.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from core.db import get_engine, session_scope  # noqa: E402
from core.db.tables import Cliente, Conversa  # noqa: E402
from core.review.conversations import count_ratings, list_conversations, rate_conversation  # noqa: E402

PAGES = [1, 2, 5, 20, 50, 100, "last"]
SEARCHES = ["entrega", "reembolso", "cancelar pedido", "troca de tamanho", "boleto vencido",
            "rastreio", "nota fiscal", "atendente humano", "cupom desconto", "pix", "endereço",
            "xyzzy inexistente"]


def timed(engine, fn, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    with session_scope(engine) as session:
        result = fn(session, **kwargs)
    return (time.perf_counter() - start) * 1000, result


def filter_mix(engine) -> list[dict]:
    with session_scope(engine) as session:
        clientes = list(session.scalars(select(Cliente.id).order_by(Cliente.id)))
        fim = session.scalar(select(func.max(Conversa.dia)))
    semana = {"desde": fim - dt.timedelta(days=6), "ate": fim}
    mix = [{}, {"status": "finalizada"}, {"status": "aguardando"}, {"avaliacao": "boa"},
           {"avaliacao": "ruim"}, {"avaliacao": "sem"}, semana,
           {"status": "finalizada", "avaliacao": "sem", **semana}]
    for cliente_id in clientes:
        mix += [{"cliente_id": cliente_id}, {"cliente_id": cliente_id, "avaliacao": "ruim"},
                {"cliente_id": cliente_id, "status": "finalizada", **semana}]
    return mix


def summarize(name: str, times: list[float], budget: float) -> str:
    times = sorted(times)
    p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
    verdict = "ok" if p95 <= budget else f"MISSES by {p95 - budget:.1f} ms"
    return (f"| {name} | {len(times)} | {statistics.median(times):.1f} | {p95:.1f} | "
            f"{times[-1]:.1f} | {budget:.0f} | {verdict} |")


def bench_list(engine, mix: list[dict], repeticoes: int) -> list[float]:
    times = []
    for _ in range(repeticoes):
        for filtros in mix:
            _, first = timed(engine, list_conversations, **filtros)
            for page in PAGES:
                page = first.pages if page == "last" else page
                if page <= first.pages:
                    times.append(timed(engine, list_conversations, **filtros, page=page)[0])
    return times


def bench_search(engine, clientes: list[int], repeticoes: int) -> tuple[list[float], int]:
    times, capped = [], 0
    for _ in range(repeticoes):
        for busca in SEARCHES:
            for filtros in ({}, {"cliente_id": clientes[0]}, {"avaliacao": "sem"}):
                for page in (1, 3):
                    ms, result = timed(engine, list_conversations, busca=busca, page=page, **filtros)
                    times.append(ms)
                    capped += not result.total_exato
    return times, capped


def bench_counters(engine, mix: list[dict], repeticoes: int) -> list[float]:
    return [timed(engine, count_ratings, **filtros)[0] for _ in range(repeticoes) for filtros in mix]


def bench_ratings(engine, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    with session_scope(engine) as session:
        top = session.scalar(select(func.max(Conversa.id)))
    times = []
    for i in range(n):
        avaliacao = ("boa", "ruim", None)[i % 3]
        times.append(timed(engine, rate_conversation, conversa_id=rng.randint(1, top),
                           avaliacao=avaliacao, usuario="bench")[0])
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: DATABASE_URL / settings)")
    parser.add_argument("--repeticoes", type=int, default=3)
    parser.add_argument("--avaliacoes", type=int, default=300, help="rating writes to time")
    args = parser.parse_args(argv)
    engine = get_engine(args.url)
    with session_scope(engine) as session:
        total = session.scalar(select(func.count()).select_from(Conversa))
        clientes = list(session.scalars(select(Cliente.id).order_by(Cliente.id)))
    mix = filter_mix(engine)
    print(f"{engine.dialect.name}: {total:,} conversas, {len(mix)} filter combinations, "
          f"pages {PAGES}")
    bench_list(engine, mix[:3], 1)  # warm the cache
    list_times = bench_list(engine, mix, args.repeticoes)
    search_times, capped = bench_search(engine, clientes, args.repeticoes)
    counter_times = bench_counters(engine, mix, args.repeticoes * 3)
    rating_times = bench_ratings(engine, args.avaliacoes, seed=7)
    print("| operation | calls | p50 ms | p95 ms | max ms | budget ms | result |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(summarize("list page of 20 + exact total (filters x pages)", list_times, 50))
    print(summarize(f"keyword search + capped total ({capped} capped)", search_times, 150))
    print(summarize("rating counters (boa / ruim / sem)", counter_times, 10))
    print(summarize("rating write (commit included)", rating_times, 10))


if __name__ == "__main__":
    main()
