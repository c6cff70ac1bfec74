"""`python -m core finetune start|status`: the same code path as the dashboard button."""
from __future__ import annotations

import io

from sqlalchemy import select

from core.__main__ import main
from core.db import session_scope
from core.db.tables import FineTuningJob
from tests.finetune_helpers import make_cliente


def _rows(engine):
    with session_scope(engine) as session:
        return list(session.scalars(select(FineTuningJob)))


def test_cli_start_with_yes_creates_the_pending_job(engine, fake_openai, capsys):
    make_cliente(engine)
    assert main(["finetune", "start", "--cliente", "loja-do-joao", "--yes",
                 "--usuario", "ana"]) == 0
    out = capsys.readouterr().out
    [row] = _rows(engine)
    assert "Conversas usadas: 40" in out and "O processo não pode ser cancelado." in out
    assert "Será desligado pela OpenAI em 14/01/2027" in out
    assert f"job #{row.id}, status pending" in out and row.openai_job_id in out
    assert row.iniciado_por == "ana" and len(fake_openai.jobs) == 1


def test_cli_start_without_yes_and_without_a_terminal_asks_for_yes(engine, fake_openai,
                                                                  capsys, monkeypatch):
    make_cliente(engine)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["finetune", "start", "--cliente", "loja-do-joao"]) == 1
    assert "use --yes" in capsys.readouterr().err
    assert _rows(engine) == [] and fake_openai.jobs == {}


def test_cli_start_answering_no_does_nothing(engine, fake_openai, capsys, monkeypatch):
    make_cliente(engine)

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Tty("n\n"))
    assert main(["finetune", "start", "--cliente", "loja-do-joao"]) == 0
    assert "Nada foi feito." in capsys.readouterr().out
    assert _rows(engine) == [] and fake_openai.jobs == {}


def test_cli_refuses_a_cliente_that_is_not_ready(engine, fake_openai, capsys):
    make_cliente(engine, boas=10, ruins=2)
    assert main(["finetune", "start", "--cliente", "loja-do-joao", "--yes"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Erro: O cliente ainda não está pronto") and "Faltam" in err
    assert "Traceback" not in err and _rows(engine) == []


def test_cli_reports_a_refusal_in_portuguese_and_records_it(engine, fake_openai, capsys):
    make_cliente(engine)
    fake_openai.fail("jobs.create", "refusal")
    assert main(["finetune", "start", "--cliente", "loja-do-joao", "--yes"]) == 1
    assert "recusou o fine-tuning" in capsys.readouterr().err
    [row] = _rows(engine)
    assert row.status == "failed" and "recusou o fine-tuning" in row.erro


def test_cli_unknown_cliente_is_a_clean_error(engine, fake_openai, capsys):
    assert main(["finetune", "start", "--cliente", "nao-existe", "--yes"]) == 1
    assert "nao-existe" in capsys.readouterr().err


def test_cli_status_lists_jobs_and_shows_one(engine, fake_openai, capsys):
    make_cliente(engine)
    main(["finetune", "start", "--cliente", "loja-do-joao", "--yes"])
    [row] = _rows(engine)
    capsys.readouterr()
    assert main(["finetune", "status"]) == 0
    listing = capsys.readouterr().out
    assert f"#{row.id}\tloja-do-joao\tpending" in listing
    assert main(["finetune", "status", str(row.id)]) == 0
    detail = capsys.readouterr().out
    assert f"Job #{row.id}" in detail and "Status: pending (Pendente)" in detail
    assert row.openai_job_id in detail
    assert main(["finetune", "status", "9999"]) == 1
    assert "#9999 não encontrado" in capsys.readouterr().err
