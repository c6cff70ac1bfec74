"""Benchmark: what every page run and Visão geral add (login session check, start of day).

Usage (DATABASE_URL empty: a fresh SQLite file in a temporary folder, demo data loaded):
    .venv/bin/python bench/start_of_day.py [--conversas 20000] [--avaliacoes 5000] [--repeticoes 200]
    DATABASE_URL=postgresql://postgres@127.0.0.1/curadoria_bench_sod \
        .venv/bin/python bench/start_of_day.py   # an empty, disposable database

Prints median / p95 / max wall time (warm: one unmeasured run first) of:
- the session check each page run makes (core.login_sessions.check_session_id);
- the cookie check of a reload / new tab (check_cookie: signature, then the hashed token);
- start_of_day, the Visão geral query (rollup per cliente, readiness, 7 days of audit rows),
  after `--avaliacoes` ratings were written as UPDATEs (the audit trigger records each).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed(fn, repeticoes: int) -> list[float]:
    fn()
    tempos = []
    for _ in range(repeticoes):
        start = time.perf_counter()
        fn()
        tempos.append((time.perf_counter() - start) * 1000)
    return tempos


def line(nome: str, tempos: list[float]) -> str:
    tempos = sorted(tempos)
    p95 = tempos[max(0, int(len(tempos) * 0.95) - 1)]
    return (f"{nome:<40} mediana {statistics.median(tempos):7.2f} ms  p95 {p95:7.2f} ms  "
            f"máx {tempos[-1]:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversas", type=int, default=20_000)
    parser.add_argument("--avaliacoes", type=int, default=5_000)
    parser.add_argument("--repeticoes", type=int, default=200)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sod-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.db'}")
    os.environ["CURADORIA_INITIAL_PASSWORD_FILE"] = str(tmp / "senha_inicial.txt")

    from sqlalchemy import select, text

    from core import login_sessions
    from core.auth import create_admin
    from core.db import get_engine, session_scope, upgrade_database
    from core.db.tables import Conversa
    from core.demo.generate import default_anchor, generate_conversations, load_database
    from core.review.start_of_day import start_of_day

    upgrade_database()
    engine = get_engine()
    anchor = default_anchor()
    started = time.perf_counter()
    load_database(engine, generate_conversations(args.conversas, seed=7, anchor=anchor), anchor)
    with session_scope(engine) as session:
        ids = list(session.scalars(select(Conversa.id).where(Conversa.avaliacao.is_(None))
                                   .limit(args.avaliacoes)))
    with engine.begin() as conn:
        for i, conversa_id in enumerate(ids):
            conn.execute(text("UPDATE conversas SET avaliacao = :a WHERE id = :i"),
                         {"a": "boa" if i % 3 else "ruim", "i": conversa_id})
    with session_scope(engine) as session:
        admin = create_admin(session, "medidor", "senha-de-teste-123")
        opened = login_sessions.open_session(session, admin)
        cookie, _ = login_sessions.exchange_ticket(session, opened.ticket)
    print(f"{engine.url.get_backend_name()}: {args.conversas} conversas, {len(ids)} avaliações "
          f"(preparo {time.perf_counter() - started:.1f} s)")

    def by_id():
        with session_scope(engine) as session:
            assert login_sessions.check_session_id(session, opened.sessao_id) is not None

    def by_cookie():
        with session_scope(engine) as session:
            assert login_sessions.check_cookie(session, cookie) is not None

    def day():
        with session_scope(engine) as session:
            start_of_day(session)

    print(line("sessão da aba (cada execução da página)", timed(by_id, args.repeticoes)))
    print(line("cookie (F5, nova aba, link)", timed(by_cookie, args.repeticoes)))
    print(line("Visão geral: start_of_day", timed(day, max(20, args.repeticoes // 10))))


if __name__ == "__main__":
    main()
