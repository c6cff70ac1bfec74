"""Benchmark: a cliente's corrections -> the preference (DPO) JSONL, in a fresh process.

Uses a database loaded by bench/dataset.py (plus corrections, e.g. inserted with SQL).

    .venv/bin/python bench/preferences.py URL [SLUG]
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    os.environ["DATABASE_URL"] = sys.argv[1]
    slug = sys.argv[2] if len(sys.argv) > 2 else "padaria-pao-dourado"
    from core.db import session_scope
    from core.training import tokens
    from core.training.preference import export_preferences

    tokens.get_encoding("o200k_base")
    started, cpu = time.perf_counter(), time.process_time()
    with session_scope() as session:
        report = export_preferences(session, slug, Path(f"/tmp/{slug}-dpo.jsonl"))
    print(json.dumps({"segundos": round(time.perf_counter() - started, 2),
                      "cpu_segundos": round(time.process_time() - cpu, 2),
                      "exemplos": report.exemplos, "puladas": report.puladas, "ok": report.ok,
                      "pico_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
