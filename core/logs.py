"""Structured log lines: one `key=value` line per action (easy to grep and to parse).

Loggers are named after the package that logs, `curadoria.<package>` (curadoria.ingest,
curadoria.finetune, curadoria.poller; poller.py logs as curadoria.poller too), so an
operator can tune one package's level; tests/test_layout.py checks the names.
"""
from __future__ import annotations

import logging
import sys


def _format_value(value) -> str:
    text = "" if value is None else str(value)
    if text == "" or any(c in text for c in ' ="\n\t'):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def format_event(acao: str, **fields) -> str:
    """'acao=job_aplicado job=3 cliente=padaria' (values with spaces are quoted)."""
    parts = [f"acao={_format_value(acao)}"]
    parts += [f"{key}={_format_value(value)}" for key, value in fields.items()]
    return " ".join(parts)


def log_event(logger: logging.Logger, acao: str, *, level: int = logging.INFO, **fields) -> None:
    logger.log(level, format_event(acao, **fields))


def configure_logging(level: int = logging.INFO) -> None:
    """One line per record: time, level, then the key=value message."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("ts=%(asctime)s nivel=%(levelname)s %(message)s",
                                           "%Y-%m-%dT%H:%M:%S%z"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
