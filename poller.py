"""The poller sidecar: `python poller.py [--once] [--interval SECONDS]`.

Each cycle (core.poller.cycle.run_poller_cycle) migrates the database while it still needs it,
imports new conversations from every cliente's Redis, then follows the fine-tuning jobs.
A cycle that finds the database unusable logs one line and the next one tries again.
This script only loops: it sleeps until the interval ends or a stop signal arrives
(SIGTERM / SIGINT stop it within a second, also mid-cycle between two jobs), and logs one
key=value line per action. `--once` exits 1 when its cycle failed that way.
"""
from __future__ import annotations

import argparse
import os
import logging
import signal
import socket
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

    # The Python handler does nothing: it runs in the main thread between two bytecodes,
    # possibly while that thread holds the lock inside `stop` (entering stop.wait), where
    # setting the flag could deadlock it. The C-level handler writes each signal's number
    # to a socket; a thread reading it sets the flag, whatever the main thread is doing.
    leitura, escrita = socket.socketpair()
    escrita.setblocking(False)
    signal.set_wakeup_fd(escrita.fileno(), warn_on_full_buffer=False)

    def watch_signals() -> None:
        sinais.append(leitura.recv(1)[0])
        stop.set()

    signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    signal.signal(signal.SIGINT, lambda _signum, _frame: None)
    threading.Thread(target=watch_signals, daemon=True, name="sinais").start()
    terminou = threading.Event()
    threading.Thread(target=exit_if_stuck, args=(stop, terminou), daemon=True,
                     name="parada").start()

    from core.finetune.follow import poller_name
    from core.poller.cycle import PollerDatabase, run_poller_cycle

    nome = poller_name()
    database = PollerDatabase()  # DATABASE_URL; migrated by the first cycle that reaches it
    log_event(logger, "poller_inicio", poller=nome, intervalo_s=intervalo, once=args.once)
    falhou = False
    while not stop.is_set():
        try:
            summary = run_poller_cycle(database, default_provider_factory, nome=nome,
                                       intervalo=intervalo, sleep=stop.wait,
                                       should_stop=stop.is_set)
            falhou = summary.falha is not None
        except Exception as exc:  # noqa: BLE001 - the sidecar never dies on one cycle
            falhou = True
            logger.exception("acao=ciclo_erro erro=%r", exc)
        if args.once:
            break
        if not falhou:  # a failed cycle already said everything in its one line
            log_event(logger, "aguardando", segundos=intervalo)
        stop.wait(intervalo)
    terminou.set()
    if sinais:
        log_event(logger, "parada_solicitada", sinal=signal.Signals(sinais[0]).name)
    log_event(logger, "poller_fim", poller=nome)
    return 1 if args.once and falhou else 0


STOP_GRACE_SECONDS = 0.7


def exit_if_stuck(stop: threading.Event, terminou: threading.Event) -> None:
    """After a stop signal, end the process if the loop has not ended within the grace time.

    The loop checks the stop flag between steps and jobs, but a call that blocks gets no
    chance to: connecting to a database server that accepts the connection and never
    answers (or a host whose packets are dropped) waits for minutes. Ending the process
    there is as safe as `kill -9`, which the job claims and leases are built for.
    """
    stop.wait()
    if terminou.wait(STOP_GRACE_SECONDS):
        return
    log_event(logger, "parada_forcada", motivo="o ciclo não respondeu ao sinal de parada",
              level=logging.WARNING)
    logging.shutdown()
    os._exit(0)


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
