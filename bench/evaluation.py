"""Evaluation of a candidate: 50 held-out examples x 2 models at 200 ms latency (budget 15 s).

The candidate and the model in use answer from two local fake OpenAI-compatible servers
(tests/fake_openai.py) that wait `--latency` seconds before every answer; the real openai
SDK asks them over HTTP, `CURADORIA_AVALIACAO_CONCORRENCIA` at a time (default 8). Each run
is a new evaluation (a finished one is not resumed), timed from `run_evaluation` to its
return, which includes writing every answer and the summary to the database.

    .venv/bin/python bench/evaluation.py [--database-url URL] [--exemplos 50] \
        [--latency 0.2] [--runs 3] [--juiz]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET_SECONDS = 15.0
PERGUNTAS = [
    ("Qual o horário de funcionamento de vocês?", "Abrimos de segunda a sábado, das 8h às 18h."),
    ("Vocês entregam no sábado?", "Sim, entregamos aos sábados até as 14h."),
    ("Quanto custa o frete para Campinas?", "O frete para Campinas fica em R$ 18,90, entrega em 2 dias úteis."),
    ("Posso pagar no pix?", "Pode sim! Aceitamos pix, cartão em até 6x e boleto."),
    ("Como faço para trocar um produto?", "A troca é em até 30 dias com a nota fiscal, em qualquer loja."),
]


def write_validation_file(path: Path, exemplos: int) -> None:
    """Held-out examples shaped like the training export (system, user, assistant...)."""
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(exemplos):
            pergunta, resposta = PERGUNTAS[i % len(PERGUNTAS)]
            messages = [
                {"role": "system", "content": "Você é o atendente virtual da Loja Exemplo."},
                {"role": "user", "content": f"Oi, boa tarde! Meu pedido é o {1000 + i}."},
                {"role": "assistant", "content": "Boa tarde! Como posso ajudar com o seu pedido?"},
                {"role": "user", "content": pergunta},
                {"role": "assistant", "content": resposta},
            ]
            fh.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None,
                        help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--exemplos", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--juiz", action="store_true", help="also a judge (2 more calls/example)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="curadoria-bench-eval-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    os.environ.update({"DATABASE_URL": url, "CURADORIA_FINE_TUNING_DIR": str(tmp / "ft"),
                       "CURADORIA_AVALIACAO_MAX_EXEMPLOS": str(args.exemplos)})
    os.environ.pop("REDIS_URL", None)

    from core import config
    from core.clientes.directory import create_cliente
    from core.db import get_engine, session_scope, upgrade_database
    from core.finetune.evaluate import Endpoint, job_files_dir, run_evaluation
    from core.db.tables import FineTuningJob
    from tests.conftest import empty_database
    from tests.fake_openai import FakeOpenAI

    config.reset_settings()
    settings = config.get_settings()
    upgrade_database(url)
    engine = get_engine(url)
    empty_database(engine)
    with session_scope(engine) as session:
        cliente = create_cliente(session, "loja-exemplo", nome="Loja Exemplo")
        job = FineTuningJob(cliente_id=cliente.id, status="succeeded",
                            modelo_base="gpt-4.1-mini-2025-04-14",
                            modelo_fine_tuned="ft:gpt-4.1-mini-2025-04-14:org:loja:bench")
        session.add(job)
        session.flush()
        job_id = job.id
    folder = job_files_dir(job_id, settings)
    folder.mkdir(parents=True)
    write_validation_file(folder / "loja-exemplo-validation.jsonl", args.exemplos)

    candidate_server, current_server = FakeOpenAI().start(), FakeOpenAI().start()
    candidate_server.chat_model("ft:gpt-4.1-mini-2025-04-14:org:loja:bench",
                                lambda m: "Sim, entregamos aos sábados até as 14h.",
                                latency=args.latency)
    current_server.chat_model("gpt-4.1-mini-2025-04-14", "Não tenho essa informação.",
                              latency=args.latency)
    current_server.chat_model("juiz", json.dumps({"vencedor": "A", "motivo": "-"}),
                              latency=args.latency)
    candidate = Endpoint("ft:gpt-4.1-mini-2025-04-14:org:loja:bench",
                         candidate_server.base_url, candidate_server.api_key)
    current = Endpoint("gpt-4.1-mini-2025-04-14", current_server.base_url,
                       current_server.api_key)
    judge = Endpoint("juiz", current_server.base_url, current_server.api_key) if args.juiz else None

    calls = args.exemplos * (4 if args.juiz else 2)
    print(f"banco: {engine.dialect.name}; {args.exemplos} exemplos x 2 modelos"
          f"{' + juiz (2x)' if args.juiz else ''} = {calls} chamadas; latência "
          f"{args.latency * 1000:.0f} ms; concorrência {settings.avaliacao_concorrencia}")
    figures = []
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        evaluation = run_evaluation(engine, job_id, candidate, current, judge,
                                    criada_por="bench")
        elapsed = time.perf_counter() - started
        assert evaluation.status == "concluida", evaluation.erro
        assert evaluation.exemplos == args.exemplos
        figures.append(elapsed)
        print(f"execução {run}: {elapsed:.2f} s (avaliação #{evaluation.id}, "
              f"decisão {evaluation.decisao})")
    worst = max(figures)
    print(f"mediana {statistics.median(figures):.2f} s, pior {worst:.2f} s; orçamento "
          f"{BUDGET_SECONDS:.0f} s: {'ok' if worst <= BUDGET_SECONDS else 'ACIMA DO ORÇAMENTO'}")
    candidate_server.stop()
    current_server.stop()
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if worst <= BUDGET_SECONDS else 1)


if __name__ == "__main__":
    main()
