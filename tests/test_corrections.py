"""Corrections of bot answers: saved with validation, turned into SFT examples and DPO rows,
imported and exported as CSV (both databases)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.__main__ import main
from core.clientes.directory import create_cliente
from core.db import session_scope
from core.db.tables import Mensagem
from core.db.tables_correcoes import Correcao
from core.errors import InvalidInput, NotFound
from core.review.corrections import corrections_of, remove_correction, save_correction
from core.review.corrections_csv import import_csv
from core.training.dataset import build_training_files
from core.training.examples import validate_jsonl
from core.training.preference import export_preferences
from tests.test_dataset import PROMPT, _boas, _conversa, _lines

PII = ["529.982.247-25", "52998224725", "(11) 98765-4321", "11987654321", "maria.silva@gmail.com"]


@pytest.fixture
def cliente(session, monkeypatch):
    monkeypatch.setenv("CURADORIA_DATASET_FRACAO_VALIDACAO", "0")
    from core.config import reset_settings
    reset_settings()
    return create_cliente(session, "padaria", "Padaria", system_prompt=PROMPT,
                          modelo_base="gpt-4.1-mini-2025-04-14")


def _ids(session, conversa) -> list[int]:
    return list(session.scalars(select(Mensagem.id).where(Mensagem.conversa_id == conversa.id)
                                .order_by(Mensagem.enviada_em, Mensagem.id)))


def _ruim(session, cliente, i: int):
    """A bad conversa: question, wrong answer, follow-up, answer."""
    return _conversa(session, cliente, [("user", f"pergunta {i}: abre domingo?"),
                                        ("assistant", f"Não abrimos aos domingos ({i})."),
                                        ("user", "tem certeza?"), ("assistant", "Sim.")], "ruim")


# --- saving ------------------------------------------------------------------------------

def test_a_correction_is_saved_edited_and_removed_with_who_and_when(session, cliente):
    conversa = _ruim(session, cliente, 1)
    _, bot, _, _ = _ids(session, conversa)
    salvo = save_correction(session, bot, "  Abrimos domingo das 8h às 12h.  ", "ana", conversa.id)
    assert salvo.acao == "criada"
    assert salvo.correcao.resposta_correta == "Abrimos domingo das 8h às 12h."
    assert salvo.correcao.criada_por == "ana" and salvo.correcao.criada_em is not None
    assert save_correction(session, bot, "Abrimos domingo das 8h às 12h.", "bia").acao == "igual"
    editado = save_correction(session, bot, "Abrimos domingo, 8h-12h.", "bia")
    assert editado.acao == "atualizada" and editado.correcao.atualizada_por == "bia"
    assert editado.correcao.criada_por == "ana"
    assert list(corrections_of(session, conversa.id)) == [bot]
    assert session.get(type(conversa), conversa.id).avaliacao == "ruim"  # rating untouched
    assert remove_correction(session, bot) is True
    assert remove_correction(session, bot) is False
    assert corrections_of(session, conversa.id) == {}


def test_only_a_bot_message_with_text_can_be_corrected(session, cliente):
    conversa = _ruim(session, cliente, 1)
    outra = _ruim(session, cliente, 2)
    user, bot, _, _ = _ids(session, conversa)
    with pytest.raises(InvalidInput, match="é do cliente, não do bot"):
        save_correction(session, user, "x", "ana")
    with pytest.raises(InvalidInput, match="vazia"):
        save_correction(session, bot, " \n\x00 ", "ana")
    with pytest.raises(InvalidInput, match="igual à resposta do bot"):
        save_correction(session, bot, "Não abrimos aos domingos (1).", "ana")
    with pytest.raises(InvalidInput, match=f"não pertence à conversa #{outra.id}"):
        save_correction(session, bot, "Abrimos.", "ana", outra.id)
    with pytest.raises(NotFound, match="não encontrada"):
        save_correction(session, 10**9, "Abrimos.", "ana")
    assert session.scalar(select(func.count()).select_from(Correcao)) == 0


# --- the training file (SFT) ---------------------------------------------------------------

def test_a_corrected_conversa_gives_an_example_ending_with_the_correction(session, cliente, tmp_path):
    _boas(session, cliente, 10)
    conversa = _ruim(session, cliente, 1)
    _, bot, _, _ = _ids(session, conversa)
    save_correction(session, bot, "Abrimos domingo das 8h às 12h.", "ana")
    report = build_training_files(session, cliente.id, tmp_path)
    examples = _lines(report.train_path)
    assert report.ok and report.exemplos == 11 and report.exemplos_corrigidos == 1
    assert examples[-1]["messages"] == [
        {"role": "system", "content": PROMPT},
        {"role": "user", "content": "pergunta 1: abre domingo?"},
        {"role": "assistant", "content": "Abrimos domingo das 8h às 12h."}]
    assert "Não abrimos" not in report.train_path.read_text(encoding="utf-8")
    assert any("corrigidas (terminam com a correção): 1" in line for line in report.lines())
    lines = report.train_path.read_text(encoding="utf-8").splitlines()
    assert validate_jsonl(lines, cliente.modelo_base) == ([], [])


def test_a_good_conversa_with_a_correction_is_written_once_with_the_correction(session, cliente, tmp_path):
    _boas(session, cliente, 10)
    conversa = _conversa(session, cliente, [("user", "tem sonho?"), ("assistant", "Não."),
                                            ("user", "e pão?"), ("assistant", "Tem."),
                                            ("assistant", "Quentinho.")])
    ids = _ids(session, conversa)
    save_correction(session, ids[1], "Tem sim, de creme.", "ana")
    save_correction(session, ids[3], "Tem, saiu agora.", "ana")
    report = build_training_files(session, cliente.id, tmp_path)
    assert report.exemplos == 11 and report.conversas_usadas == 11 and report.exemplos_corrigidos == 1
    assert _lines(report.train_path)[-1]["messages"][1:] == [
        {"role": "user", "content": "tem sonho?"}, {"role": "assistant", "content": "Tem sim, de creme."},
        {"role": "user", "content": "e pão?"}, {"role": "assistant", "content": "Tem, saiu agora."}]


# --- the preference file (DPO) -------------------------------------------------------------

def openai_preference_rule_violations(row) -> list[str]:
    """OpenAI's published preference-tuning (DPO) data format, checked independently of
    core: https://platform.openai.com/docs/guides/direct-preference-optimization — each line
    is {"input": {"messages": [...]}, "preferred_output": [one assistant message],
    "non_preferred_output": [one assistant message]}; input messages have a role among
    system / user / assistant (developer, tool not used here) and string content; the
    outputs are the next assistant turn, so the input ends with the user's message; the two
    outputs differ. Together additionally wants user and assistant turns to alternate."""
    problems = []
    if sorted(row) != ["input", "non_preferred_output", "preferred_output"]:
        problems.append(f"keys {sorted(row)}")
    messages = row["input"]["messages"]
    if not messages or messages[-1]["role"] != "user":
        problems.append("input must end with a user message")
    for m in messages:
        if m["role"] not in ("system", "developer", "user", "assistant") or not isinstance(m["content"], str) \
                or not m["content"].strip():
            problems.append(f"bad message {m}")
    roles = [m["role"] for m in messages if m["role"] != "system"]
    if any(a == b for a, b in zip(roles, roles[1:])):
        problems.append("turns do not alternate")
    for key in ("preferred_output", "non_preferred_output"):
        out = row[key]
        if not (isinstance(out, list) and len(out) == 1 and out[0].get("role") == "assistant"
                and isinstance(out[0].get("content"), str) and out[0]["content"].strip()):
            problems.append(f"{key} must be one assistant message")
    if row["preferred_output"] == row["non_preferred_output"]:
        problems.append("outputs are equal")
    return problems


def _corrected(session, cliente, n: int) -> None:
    for i in range(n):
        conversa = _ruim(session, cliente, i)
        _, bot, _, sim = _ids(session, conversa)
        save_correction(session, bot, f"Abrimos domingo das 8h às 12h ({i}).", "ana")
        if i % 3 == 0:
            save_correction(session, sim, f"Sim, confirmado no site ({i}).", "ana")


def test_the_dpo_file_passes_the_together_check_and_openai_s_rules(session, cliente, tmp_path):
    from together.lib.utils.files import check_file

    _corrected(session, cliente, 12)
    report = export_preferences(session, "padaria", tmp_path / "dpo.jsonl")
    assert report.ok, report.erros
    assert report.exemplos == 16 and report.conversas == 12
    check = check_file(tmp_path / "dpo.jsonl", purpose="fine-tune")
    assert check["is_check_passed"], check
    assert check["num_samples"] == 16
    rows = _lines(tmp_path / "dpo.jsonl")
    for row in rows:
        assert openai_preference_rule_violations(row) == []
    first = rows[0]
    assert first["input"]["messages"] == [{"role": "system", "content": PROMPT},
                                          {"role": "user", "content": "pergunta 0: abre domingo?"}]
    assert first["preferred_output"] == [{"role": "assistant", "content": "Abrimos domingo das 8h às 12h (0)."}]
    assert first["non_preferred_output"] == [{"role": "assistant", "content": "Não abrimos aos domingos (0)."}]
    # The second correction of a conversa sees the first one applied in its input.
    second = rows[1]["input"]["messages"]
    assert second[2] == {"role": "assistant", "content": "Abrimos domingo das 8h às 12h (0)."}


def test_the_dpo_file_needs_ten_rows(session, cliente, tmp_path):
    _corrected(session, cliente, 2)
    report = export_preferences(session, "padaria", tmp_path / "dpo.jsonl")
    assert not report.ok and any("pelo menos 10" in e for e in report.erros)


def test_personal_data_typed_into_a_correction_reaches_neither_file(session, cliente, tmp_path):
    _boas(session, cliente, 10)
    _corrected(session, cliente, 10)
    conversa = _ruim(session, cliente, 99)
    _, bot, _, _ = _ids(session, conversa)
    save_correction(session, bot, "Anotei: CPF 529.982.247-25 (52998224725), fone (11) 98765-4321 "
                                  "ou 11987654321, e-mail maria.silva@gmail.com.", "ana")
    sft = build_training_files(session, cliente.id, tmp_path / "sft")
    dpo = export_preferences(session, "padaria", tmp_path / "dpo.jsonl")
    assert sft.ok and dpo.ok
    for text in (sft.train_path.read_text(encoding="utf-8"), (tmp_path / "dpo.jsonl").read_text(encoding="utf-8")):
        assert "Anotei: CPF [CPF]" in text
        for leak in PII:
            assert leak not in text
    assert {"cpf", "telefone", "email"} <= set(dpo.redacoes) and {"cpf", "telefone", "email"} <= set(sft.redacoes)


def test_cli_export_dpo(session, cliente, tmp_path, capsys):
    _corrected(session, cliente, 10)
    session.commit()
    out = tmp_path / "dpo.jsonl"
    assert main(["export", "--cliente", "padaria", "--out", str(out), "--formato", "dpo"]) == 0
    assert "Exemplos de preferência (DPO): 14" in capsys.readouterr().out
    assert len(_lines(out)) == 14


# --- CSV import and export -----------------------------------------------------------------

def test_csv_import_keeps_good_lines_reports_bad_ones_by_line_and_adds_nothing_twice(session, cliente, tmp_path,
                                                                                      capsys):
    a, b = _ruim(session, cliente, 1), _ruim(session, cliente, 2)
    a_ids, b_ids = _ids(session, a), _ids(session, b)
    session.commit()
    csv_text = (
        "\ufeffconversa_id,mensagem_id,resposta_correta\n"                       # 1 (BOM)
        f"{a.id},{a_ids[1]},Abrimos domingo das 8h às 12h.\n"                   # 2 good
        f"{a.id},{a_ids[0]},Resposta para o cliente?\n"                         # 3 user message
        f"{b.id},{b_ids[1]},\"\"\n"                                            # 4 empty text
        f"{b.id},999999999,Texto\n"                                             # 5 unknown message
        f"{b.id},{a_ids[3]},Texto\n"                                            # 6 wrong conversa
        f"abc,{b_ids[1]},Texto\n"                                               # 7 not a number
        f"{b.id},{b_ids[1]},\"Sim, abrimos;\nem duas linhas\"\n"               # 8-9 good, multi-line
        f"{b.id},{b_ids[1]},De novo\n"                                          # 10 same message again
        "\n"                                                                     # 11 blank
        f"{b.id},{b_ids[3]},\"Sim, é verdade: \"\"aspas\"\" e ação.\"\n"        # 12 good
        f"{b.id},{b_ids[3]},Sem aspas, com vírgula\n"                          # 13 4 columns
    )
    path = tmp_path / "correcoes.csv"
    path.write_text(csv_text, encoding="utf-8")
    assert main(["correcoes", "importar", str(path), "--usuario", "bia"]) == 1
    out = capsys.readouterr().out
    assert "Correções adicionadas: 3" in out and "Linhas rejeitadas: 7" in out
    for linha, trecho in [(3, "é do cliente, não do bot"), (4, "vazia"), (5, "não encontrada"),
                          (6, f"não pertence à conversa #{b.id}"), (7, "não é um número"),
                          (10, "já foi corrigida na linha 8"), (13, "entre aspas")]:
        assert any(l.startswith(f"  - linha {linha}: ") and trecho in l for l in out.splitlines()), (linha, out)
    with session_scope() as s:
        rows = s.execute(select(Correcao.mensagem_id, Correcao.resposta_correta, Correcao.criada_por)
                         .order_by(Correcao.id)).all()
    assert [tuple(r) for r in rows] == [(a_ids[1], "Abrimos domingo das 8h às 12h.", "bia"),
                                        (b_ids[1], "Sim, abrimos;\nem duas linhas", "bia"),
                                        (b_ids[3], "Sim, é verdade: \"aspas\" e ação.", "bia")]
    assert main(["correcoes", "importar", str(path)]) == 1
    out = capsys.readouterr().out
    assert "Correções adicionadas: 0" in out and "Já existentes (sem mudança): 3" in out
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Correcao)) == 3

    exported = tmp_path / "exportadas.csv"
    assert main(["correcoes", "exportar", str(exported)]) == 0
    assert "3 correção(ões)" in capsys.readouterr().out
    with session_scope() as s:
        again = import_csv(s, exported, "carla")
    assert (again.adicionadas, again.iguais, again.rejeitadas) == (0, 3, [])


def test_csv_import_refuses_a_file_that_is_not_utf8_or_lacks_columns(session, cliente, tmp_path, capsys):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("conversa_id,mensagem_id,resposta_correta\n1,2,ação\n".encode("latin-1"))
    assert main(["correcoes", "importar", str(bad)]) == 1
    assert "não está em UTF-8 (byte inválido na linha 2)" in capsys.readouterr().err
    sem = tmp_path / "sem.csv"
    sem.write_text("conversa,mensagem\n1,2\n", encoding="utf-8")
    assert main(["correcoes", "importar", str(sem)]) == 1
    assert "Faltam as colunas" in capsys.readouterr().err
