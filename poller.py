"""The poller sidecar: `python poller.py [--once] [--interval SECONDS]`.

Each cycle (core.poller.cycle.run_cycle) imports new conversations from every cliente's Redis,
then follows the fine-tuning jobs. This script only loops: it sleeps until the interval
ends or a stop signal arrives (SIGTERM / SIGINT stop it within a second, also mid-cycle
between two jobs), and logs one key=value line per action.
"""
from __future__ import annotations

import argparse
import os
import logging
import signal
import sys
import threading

from core.config import get_settings
from core.logs import configure_logging, log_event

logger = logging.getLogger("curadoria.poller")


def default_provider_factory(provedor: str):
    """The provider a job was started on (`fine_tuning_jobs.provedor`), from the registry."""
    from core.finetune.registry import get_provider

    return get_provider(provedor or None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="poller.py",
        description="Importa as conversas do Redis e acompanha os fine-tunings, em ciclos.")
    parser.add_argument("--once", action="store_true", help="executa um ciclo e sai")
    parser.add_argument("--interval", type=int, default=None, metavar="SEGUNDOS",
                        help="intervalo entre ciclos (padrão: CURADORIA_POLLER_INTERVAL_SECONDS)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = get_settings()
    intervalo = args.interval or settings.poller_interval_seconds
    if intervalo <= 0:
        print("--interval precisa ser maior que zero.", file=sys.stderr)
        return 1

    stop = threading.Event()
    sinais: list[int] = []

    def handle(signum, _frame) -> None:
        # Only set the flag: a handler that logs can interrupt a write to stdout in
        # progress, fail with a reentrant-write error and never set it.
        stop.set()
        sinais.append(signum)

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)

    from core.db import get_engine, upgrade_database
    from core.finetune.follow import poller_name
    from core.poller.cycle import run_cycle

    nome = poller_name()
    try:
        upgrade_database()
    except Exception as exc:  # noqa: BLE001 - a clear line, then retry on the next cycle
        log_event(logger, "migracao_erro", erro=repr(exc), level=logging.ERROR)
    engine = get_engine()
    log_event(logger, "poller_inicio", poller=nome, intervalo_s=intervalo, once=args.once)
    while not stop.is_set():
        try:
            run_cycle(engine, default_provider_factory, nome=nome, intervalo=intervalo,
                      sleep=stop.wait, should_stop=stop.is_set)
        except Exception as exc:  # noqa: BLE001 - the sidecar never dies on one cycle
            logger.exception("acao=ciclo_erro erro=%r", exc)
        if args.once:
            break
        log_event(logger, "aguardando", segundos=intervalo)
        stop.wait(intervalo)
    if sinais:
        log_event(logger, "parada_solicitada", sinal=signal.Signals(sinais[0]).name)
    log_event(logger, "poller_fim", poller=nome)
    return 0


def exit_now(code: int) -> None:
    """Exit without the interpreter's slow module teardown (SIGTERM must stop us within a
    second even on a loaded machine): the engine is disposed and the logs flushed first."""
    try:
        from core.db.engine import dispose_engines

        dispose_engines()
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    exit_now(main())
