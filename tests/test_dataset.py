"""The training file: good conversas only, valid lines, no personal data, exact cost."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from core.clientes.directory import create_cliente
from core.db.tables import Conversa, Mensagem
from core.training import tokens as tk
from core.training.dataset import (build_training_files, export_dataset, in_validation,
                                   preview_redaction, update_system_prompt)
from core.training.examples import build_example, format_errors, validate_jsonl

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "Você é o atendente da Padaria Pão Dourado. Responda em português."
_START = dt.datetime(2026, 11, 1, 12)


def _conversa(session, cliente, mensagens, avaliacao="boa", n=[0]):
    """A conversa with (role, text) messages, one minute apart."""
    n[0] += 1
    start = _START + dt.timedelta(hours=n[0])
    conversa = Conversa(cliente_id=cliente.id, whatsapp=f"5511{n[0]:09d}", iniciada_em=start,
                        ultima_mensagem_em=start, dia=start.date(), status="finalizada",
                        avaliacao=avaliacao, total_mensagens=len(mensagens))
    session.add(conversa)
    session.flush()
    for i, (role, texto) in enumerate(mensagens):
        session.add(Mensagem(conversa_id=conversa.id, cliente_id=cliente.id, role=role, conteudo=texto,
                             enviada_em=start + dt.timedelta(minutes=i),
                             redis_key=f"conversation:{conversa.whatsapp}:{n[0]}{i}"))
    session.flush()
    return conversa


def _boas(session, cliente, quantas, prefixo="pergunta"):
    return [_conversa(session, cliente, [("user", f"{prefixo} {i}: tem pão?"),
                                         ("assistant", f"Tem sim, resposta {i}.")])
            for i in range(quantas)]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def cliente(session, monkeypatch):
    monkeypatch.setenv("CURADORIA_DATASET_FRACAO_VALIDACAO", "0")
    from core.config import reset_settings
    reset_settings()
    return create_cliente(session, "padaria", "Padaria", system_prompt=PROMPT,
                          modelo_base="gpt-4.1-mini-2025-04-14")


def test_only_good_conversas_become_examples_each_opening_with_the_system_prompt(session, cliente, tmp_path):
    _boas(session, cliente, 12)
    _conversa(session, cliente, [("user", "ruim: pergunta"), ("assistant", "resposta errada")], "ruim")
    _conversa(session, cliente, [("user", "sem nota"), ("assistant", "resposta")], None)
    report = build_training_files(session, cliente.id, tmp_path)
    examples = _lines(report.train_path)
    assert report.ok, report.erros
    assert report.exemplos == len(examples) == 12 and report.conversas_usadas == 12
    assert all(e["messages"][0] == {"role": "system", "content": PROMPT} for e in examples)
    text = report.train_path.read_text(encoding="utf-8")
    assert "ruim: pergunta" not in text and "sem nota" not in text


def test_consecutive_messages_of_one_role_are_merged_and_the_example_ends_on_the_assistant(session, cliente):
    messages, motivo = build_example(PROMPT, [
        ("assistant", "Olá! Como posso ajudar?"), ("user", "oi"), ("user", "tem sonho?"),
        ("assistant", "Tem sim."), ("assistant", "Sai às 16h."), ("user", "ok"), ("user", "valeu"),
    ])
    assert motivo is None
    assert [m["role"] for m in messages] == ["system", "assistant", "user", "assistant"]
    assert messages[2]["content"] == "oi\ntem sonho?"
    assert messages[3]["content"] == "Tem sim.\nSai às 16h."


@pytest.mark.parametrize(("mensagens", "motivo"), [
    ([], "sem_mensagens"),
    ([("user", "   "), ("assistant", "")], "sem_mensagens"),
    ([("assistant", "Olá!")], "sem_mensagem_do_usuario"),
    ([("user", "oi"), ("user", "alguém?")], "sem_resposta_do_assistente"),
    ([("assistant", "Olá!"), ("user", "tem pão?")], "sem_resposta_do_assistente"),
])
def test_conversas_that_cannot_form_an_example_are_skipped_with_the_reason(session, cliente, tmp_path,
                                                                            mensagens, motivo):
    _boas(session, cliente, 10)
    _conversa(session, cliente, mensagens)
    report = build_training_files(session, cliente.id, tmp_path)
    assert report.puladas == {motivo: 1}
    assert report.exemplos == 10 and report.ok
    assert any("pulada" in a for a in report.avisos)


def test_personal_data_never_reaches_the_file_and_is_counted_by_type(session, cliente, tmp_path):
    _boas(session, cliente, 10)
    _conversa(session, cliente, [
        ("user", "meu cpf é 529.982.247-25 e o email maria@gmail.com"),
        ("assistant", "Anotei o CPF 52998224725. Ligamos no (11) 98765-4321?"),
    ])
    report = build_training_files(session, cliente.id, tmp_path)
    text = report.train_path.read_text(encoding="utf-8")
    for leak in ("529.982.247-25", "52998224725", "maria@gmail.com", "98765-4321"):
        assert leak not in text
    assert "meu cpf é [CPF] e o email [EMAIL]" in text
    assert report.redacoes == {"cpf": 2, "email": 1, "telefone": 1}


def test_the_preview_shows_messages_before_and_after_redaction(session, cliente):
    _conversa(session, cliente, [("user", "cpf 529.982.247-25"), ("assistant", "Obrigado!")])
    _conversa(session, cliente, [("user", "email joao@x.com.br"), ("assistant", "ok")], "ruim")
    previews = preview_redaction(session, cliente.id)
    assert [(p.antes, p.depois, p.tipos) for p in previews] == [
        ("cpf 529.982.247-25", "cpf [CPF]", {"cpf": 1})]


def test_every_exported_line_passes_the_validator(session, cliente, tmp_path):
    _boas(session, cliente, 15)
    _conversa(session, cliente, [("user", "Ação 😡 #48213"), ("assistant", "Sinto muito 🙏")])
    report = build_training_files(session, cliente.id, tmp_path)
    lines = report.train_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 16
    assert validate_jsonl(lines, cliente.modelo_base) == ([], [])


def test_fewer_than_ten_examples_block_the_file(session, cliente, tmp_path):
    _boas(session, cliente, 9)
    report = build_training_files(session, cliente.id, tmp_path)
    assert not report.ok
    assert any("pelo menos 10" in e for e in report.erros)


def test_duplicate_examples_are_written_once(session, cliente, tmp_path):
    _boas(session, cliente, 10)
    for _ in range(3):
        _conversa(session, cliente, [("user", "tem pão?"), ("assistant", "Tem sim.")])
    report = build_training_files(session, cliente.id, tmp_path)
    assert report.exemplos == 11
    assert report.puladas == {"duplicada": 2}


def test_examples_over_the_token_limit_are_left_out(session, tmp_path, monkeypatch):
    monkeypatch.setenv("CURADORIA_DATASET_FRACAO_VALIDACAO", "0")
    from core.config import reset_settings
    reset_settings()
    cliente = create_cliente(session, "antiga", modelo_base="gpt-3.5-turbo-0125")
    _boas(session, cliente, 10)
    _conversa(session, cliente, [("user", "conta uma história"), ("assistant", "palavra " * 17_000)])
    report = build_training_files(session, cliente.id, tmp_path)
    assert report.limite_tokens == 16_385 and report.encoding == "cl100k_base"
    assert report.puladas == {"acima_do_limite_de_tokens": 1}
    assert report.exemplos == 10 and report.maior_exemplo_tokens < 16_385


def test_cost_recomputed_by_hand_for_a_small_file(session, cliente, tmp_path):
    _boas(session, cliente, 12)
    report = build_training_files(session, cliente.id, tmp_path)
    enc = tk.get_encoding("o200k_base")
    per_example = [3 + sum(3 + len(enc.encode(m["role"])) + len(enc.encode(m["content"]))
                           for m in e["messages"]) for e in _lines(report.train_path)]
    assert report.exemplos == 12
    assert report.epocas == 8  # 12 x 3 = 36 < 100, so 100 // 12
    assert report.tokens_faturados == 8 * sum(per_example)
    usd = Decimal(8 * sum(per_example)) * Decimal("5.00") / 1_000_000
    assert report.custo_usd == usd.quantize(Decimal("0.01"))
    assert report.custo_brl == (usd * Decimal("5.40")).quantize(Decimal("0.01"))
    assert report.modelo_base == "gpt-4.1-mini-2025-04-14"


def test_a_base_model_without_a_price_blocks_the_file(session, cliente, tmp_path):
    cliente = create_cliente(session, "nova", modelo_base="modelo-sem-preco")
    _boas(session, cliente, 10)
    report = build_training_files(session, cliente.id, tmp_path)
    assert any("Sem preço" in e for e in report.erros)


def test_the_split_is_deterministic_and_written_as_two_files(session, tmp_path, monkeypatch):
    monkeypatch.setenv("CURADORIA_DATASET_FRACAO_VALIDACAO", "0.25")
    from core.config import reset_settings
    reset_settings()
    cliente = create_cliente(session, "loja", system_prompt=PROMPT)
    conversas = _boas(session, cliente, 80)
    report = build_training_files(session, cliente.id, tmp_path / "a")
    expected_val = sum(in_validation(c.id, 0.25, "curadoria") for c in conversas)
    assert 0 < report.exemplos_validacao == expected_val < 80
    assert report.exemplos + report.exemplos_validacao == 80
    assert report.validation_path == tmp_path / "a" / "loja-validation.jsonl"
    assert len(_lines(report.validation_path)) == expected_val
    again = build_training_files(session, cliente.id, tmp_path / "b")
    assert again.train_path.read_bytes() == report.train_path.read_bytes()
    assert again.validation_path.read_bytes() == report.validation_path.read_bytes()
    assert report.epocas == tk.default_epochs(report.exemplos)


def test_no_validation_file_when_the_split_gives_none(session, cliente, tmp_path):
    _boas(session, cliente, 10)
    stale = tmp_path / "padaria-validation.jsonl"
    stale.write_text("velho\n")
    report = build_training_files(session, cliente.id, tmp_path)
    assert report.validation_path is None and report.exemplos_validacao == 0
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["padaria-train.jsonl"]


def test_export_writes_exactly_the_bytes_the_upload_would_send(session, tmp_path, monkeypatch):
    monkeypatch.setenv("CURADORIA_DATASET_FRACAO_VALIDACAO", "0.2")
    from core.config import reset_settings
    reset_settings()
    cliente = create_cliente(session, "loja", system_prompt=PROMPT)
    _boas(session, cliente, 40)
    built = build_training_files(session, cliente.id, tmp_path / "upload")
    exported = export_dataset(session, "loja", tmp_path / "cli" / "treino.jsonl")
    assert exported.train_path.read_bytes() == built.train_path.read_bytes()
    assert exported.validation_path == tmp_path / "cli" / "treino-validation.jsonl"
    assert exported.validation_path.read_bytes() == built.validation_path.read_bytes()
    assert exported.tokens_faturados == built.tokens_faturados


def test_the_system_prompt_edited_for_a_cliente_opens_the_next_file(session, cliente, tmp_path):
    _boas(session, cliente, 10)
    update_system_prompt(session, cliente.id, "  Novo prompt da padaria.  ")
    report = build_training_files(session, cliente.id, tmp_path)
    assert _lines(report.train_path)[0]["messages"][0] == {"role": "system",
                                                           "content": "Novo prompt da padaria."}


def test_without_a_system_prompt_the_report_warns(session, cliente, tmp_path):
    cliente = create_cliente(session, "sem-prompt")
    _boas(session, cliente, 10)
    report = build_training_files(session, cliente.id, tmp_path)
    assert report.ok
    assert any("sem mensagem de sistema" in a for a in report.avisos)


# --- the validator on hand-made bad lines ----------------------------------------------------

GOOD = {"messages": [{"role": "user", "content": "oi"}, {"role": "assistant", "content": "olá"}]}


@pytest.mark.parametrize(("example", "code"), [
    ([1, 2], "data_type"),
    ("texto", "data_type"),
    ({"mensagens": []}, "missing_messages_list"),
    ({"messages": []}, "missing_messages_list"),
    ({"messages": [{"role": "user"}, {"role": "assistant", "content": "a"}]}, "message_missing_key"),
    ({"messages": [{"role": "user", "content": "a", "extra": 1}, {"role": "assistant", "content": "b"}]},
     "message_unrecognized_key"),
    ({"messages": [{"role": "cliente", "content": "a"}, {"role": "assistant", "content": "b"}]},
     "unrecognized_role"),
    ({"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "b"}]},
     "missing_content"),
    ({"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "b"}]},
     "missing_content"),
    ({"messages": [{"role": "user", "content": "a"}]}, "example_missing_assistant_message"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "weight": 2}]},
     "invalid_weight"),
])
def test_each_format_error_class_is_reported(example, code):
    assert code in format_errors(example)
    lines = [json.dumps(GOOD)] * 10 + [json.dumps(example)]
    erros, _ = validate_jsonl(lines, "gpt-4o-mini-2024-07-18")
    assert erros and not any("pelo menos" in e for e in erros)


def test_the_validator_reports_invalid_json_few_examples_limit_and_duplicates():
    huge = {"messages": [{"role": "user", "content": "a"},
                         {"role": "assistant", "content": "palavra " * 17_000}]}
    erros, avisos = validate_jsonl(["{não é json", json.dumps(huge)] + [json.dumps(GOOD)] * 3,
                                   "gpt-3.5-turbo-0125")
    assert any("JSON válido" in e for e in erros)
    assert any("pelo menos 10" in e for e in erros)
    assert any("acima do limite de 16385" in e for e in erros)
    assert any("duplicado" in a for a in avisos)
    assert any("sem mensagem de sistema" in a for a in avisos)


def test_a_good_file_has_no_errors_and_weights_0_or_1_are_accepted():
    weighted = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                             {"role": "assistant", "content": "a", "weight": 0},
                             {"role": "user", "content": "u2"}, {"role": "assistant", "content": "b",
                                                                 "weight": 1}]}
    lines = [json.dumps({**weighted, "messages": weighted["messages"][:4] + [
        {"role": "assistant", "content": f"r{i}", "weight": 1}]}) for i in range(10)]
    assert validate_jsonl(lines, "gpt-4.1-2025-04-14") == ([], [])


# --- the command line -----------------------------------------------------------------------

def _cli(*args, env_url):
    import os
    env = {**os.environ, "DATABASE_URL": env_url, "CURADORIA_DATASET_FRACAO_VALIDACAO": "0"}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


def test_cli_export_prints_the_report_and_exits_zero_when_accepted(session, cliente, tmp_path, migrated_url):
    _boas(session, cliente, 10)
    session.commit()
    out = tmp_path / "treino.jsonl"
    result = _cli("export", "--cliente", "padaria", "--out", str(out), env_url=migrated_url)
    assert result.returncode == 0, result.stderr
    assert "Exemplos de treino: 10" in result.stdout and "Custo estimado: US$" in result.stdout
    assert len(out.read_text(encoding="utf-8").splitlines()) == 10


def test_cli_export_exits_non_zero_when_the_file_would_be_refused(session, cliente, tmp_path, migrated_url):
    _boas(session, cliente, 3)
    session.commit()
    result = _cli("export", "--cliente", "padaria", "--out", str(tmp_path / "t.jsonl"), env_url=migrated_url)
    assert result.returncode == 2
    assert "ERRO: São necessários pelo menos 10 exemplos" in result.stdout
    assert "Traceback" not in result.stderr


def test_cli_export_of_an_unknown_cliente_is_a_clean_error(settings, tmp_path, migrated_url):
    result = _cli("export", "--cliente", "nao-existe", "--out", str(tmp_path / "t.jsonl"), env_url=migrated_url)
    assert result.returncode == 1
    assert "Cliente 'nao-existe' não encontrado" in result.stderr and "Traceback" not in result.stderr


def test_the_fast_json_line_equals_json_dumps():
    from core.training.examples import _ENCODER, _json_line
    messages = [{"role": "system", "content": "Prompt \"aspas\" \\ barra"},
                {"role": "user", "content": "Olá 😡\n\ttab \u2028 \x00 </script>"},
                {"role": "assistant", "content": "ok"}]
    system_json = _ENCODER.encode(messages[0])
    expected = json.dumps({"messages": messages}, ensure_ascii=False, separators=(",", ":"))
    assert _json_line(messages, system_json) == expected
    assert _json_line(messages[1:], system_json) == json.dumps({"messages": messages[1:]},
                                                               ensure_ascii=False, separators=(",", ":"))
