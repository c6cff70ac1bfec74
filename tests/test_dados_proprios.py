"""The cliente's own public details: kept in the training file in any spelling, while a
customer's data in the same conversas is still redacted; edited with the cliente."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from core.__main__ import main
from core.clientes.dados_proprios import DadosProprios, dados_proprios, update_dados_proprios
from core.clientes.directory import create_cliente, get_cliente
from core.errors import InvalidInput
from core.training.dataset import export_dataset, preview_redaction
from core.training.own_details import OwnDetails
from core.training.redaction import redact_text
from tests.test_dataset import _boas, _conversa

PHONE, EMAIL, CNPJ = "(11) 3030-1001", "contato@paodourado.com.br", "12.345.678/0001-95"
CUSTOMER = ("529.982.247-25", "52998224725", "(11) 98765-4321", "98765-4321", "maria.silva@gmail.com")


@pytest.fixture
def cliente(session, monkeypatch):
    monkeypatch.setenv("CURADORIA_DATASET_FRACAO_VALIDACAO", "0")
    from core.config import reset_settings
    reset_settings()
    cliente = create_cliente(session, "padaria", "Padaria", system_prompt="Atendente da padaria.",
                             modelo_base="gpt-4.1-mini-2025-04-14")
    update_dados_proprios(session, cliente, DadosProprios(
        telefones=[PHONE], emails=[EMAIL], cnpj=CNPJ, cep="04101-000",
        endereco="Rua das Flores, 123 - Vila Mariana"))
    return cliente


def test_acceptance_own_phone_email_cnpj_stay_customer_data_does_not(session, cliente, tmp_path):
    _boas(session, cliente, 10)
    _conversa(session, cliente, [
        ("user", "oi, meu cpf é 529.982.247-25, meu fone (11) 98765-4321, e-mail maria.silva@gmail.com"),
        ("assistant", f"Anotado! Qualquer coisa ligue {PHONE} ou escreva para {EMAIL}."),
        ("user", "qual o cnpj pra nota? e o telefone sem parênteses?"),
        ("assistant", f"Nosso CNPJ é {CNPJ} (12345678000195). Telefone 1130301001, "
                      "+55 11 3030-1001 ou 3030-1001. Seu CPF 52998224725 e o fone 98765-4321 "
                      "ficaram no cadastro."),
    ])
    out = tmp_path / "padaria.jsonl"
    report = export_dataset(session, "padaria", out)
    text = out.read_text(encoding="utf-8")
    for kept in (PHONE, EMAIL, CNPJ, "12345678000195", "1130301001", "+55 11 3030-1001", "3030-1001"):
        assert kept in text, kept
    for leak in CUSTOMER:
        assert leak not in text, leak
    assert report.redacoes == {"cpf": 2, "telefone": 2, "email": 1}
    assert report.mantidos == {"telefone": 4, "email": 1, "cnpj": 2}
    lines = report.lines()
    assert "Dados do próprio cliente mantidos: 7" in lines
    assert all(json.loads(line) for line in text.splitlines())


def test_acceptance_the_cli_export_says_what_was_kept_and_what_was_removed(engine, session, cliente,
                                                                           tmp_path, capsys):
    _boas(session, cliente, 10)
    _conversa(session, cliente, [
        ("user", "meu cpf 529.982.247-25, fone (11) 98765-4321, maria.silva@gmail.com"),
        ("assistant", f"Ligue {PHONE}, escreva para {EMAIL}; CNPJ {CNPJ}."),
    ])
    session.commit()
    out = tmp_path / "cli.jsonl"
    assert main(["export", "--cliente", "padaria", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Dados pessoais removidos: 3" in printed
    assert "Dados do próprio cliente mantidos: 3" in printed
    assert "  - Telefone: 1" in printed and "  - CNPJ: 1" in printed and "  - E-mail: 1" in printed
    text = out.read_text(encoding="utf-8")
    assert PHONE in text and EMAIL in text and CNPJ in text
    assert not any(leak in text for leak in CUSTOMER)


def test_without_own_details_the_same_text_is_redacted_as_before(session, cliente):
    update_dados_proprios(session, cliente, DadosProprios())
    assert dados_proprios(cliente).vazio
    counts: Counter = Counter()
    assert redact_text(f"ligue {PHONE}", counts, None) == "ligue [TELEFONE]"
    _conversa(session, cliente, [("user", "oi"), ("assistant", f"ligue {PHONE}")])
    assert [p.depois for p in preview_redaction(session, cliente.id)] == ["ligue [TELEFONE]"]


@pytest.mark.parametrize("spelling", [
    "(11) 3030-1001", "1130301001", "+55 11 3030-1001", "+55 (11) 3030-1001", "55 11 3030 1001",
    "011 3030-1001", "11 3030.1001", "3030-1001", "30301001", "tel1130301001", "(11)3030-1001",
])
def test_every_spelling_of_the_own_phone_is_kept(spelling):
    own = OwnDetails.from_values(telefones=[PHONE])
    counts: Counter = Counter()
    assert redact_text(f"ligue {spelling} hoje", counts, own) == f"ligue {spelling} hoje"
    assert counts == {"proprio:telefone": 1}


@pytest.mark.parametrize("text, expected", [
    # another DDD before the same local number: a customer's phone
    ("(21) 3030-1001", "[TELEFONE]"),
    ("meu cel 11987654321 e o da loja 1130301001", "meu cel [TELEFONE] e o da loja 1130301001"),
    ("CONTATO@PaoDourado.com.br ou contato @ paodourado.com.br",
     "CONTATO@PaoDourado.com.br ou contato @ paodourado.com.br"),
    ("outro.contato@paodourado.com.br", "[EMAIL]"),
    ("CNPJ 12345678000195 / 11.222.333/0001-81", "CNPJ 12345678000195 / [CNPJ]"),
    ("CEP 04101000, o seu CEP 01310-100", "CEP 04101000, o seu CEP [CEP]"),
])
def test_only_the_cliente_s_own_details_are_kept(text, expected):
    own = OwnDetails.from_values([PHONE], [EMAIL], CNPJ, "", "04101-000", "")
    assert redact_text(text, Counter(), own) == expected


def test_pix_keys_of_each_kind_are_kept():
    uuid = "123e4567-e89b-12d3-a456-426614174000"
    own = OwnDetails.from_values(chave_pix=uuid)
    assert redact_text(f"pix {uuid.upper()}", Counter(), own) == f"pix {uuid.upper()}"
    own = OwnDetails.from_values(chave_pix="pix@loja.com.br")
    assert redact_text("pix: pix@loja.com.br", Counter(), own) == "pix: pix@loja.com.br"
    own = OwnDetails.from_values(chave_pix="+55 11 93000-1001")
    assert redact_text("pix 11930001001", Counter(), own) == "pix 11930001001"


def test_the_details_are_validated(session, cliente):
    for wrong in (DadosProprios(telefones=["123"]), DadosProprios(emails=["não é e-mail"]),
                  DadosProprios(cnpj="12.345"), DadosProprios(cep="123-45")):
        with pytest.raises(InvalidInput):
            update_dados_proprios(session, cliente, wrong)


def test_the_cli_shows_and_edits_the_details(engine, session, cliente, capsys):
    session.commit()
    assert main(["cliente", "dados-proprios", "padaria", "--telefones", "(11) 3030-1001, (11) 93000-1001",
                 "--chave-pix", "contato@paodourado.com.br", "--endereco", ""]) == 0
    out = capsys.readouterr().out
    assert "Telefones: (11) 3030-1001, (11) 93000-1001" in out and "Endereço: —" in out
    session.expire_all()
    dados = dados_proprios(get_cliente(session, "padaria"))
    assert dados.telefones == ["(11) 3030-1001", "(11) 93000-1001"] and dados.endereco == ""
    assert dados.emails == [EMAIL] and dados.chave_pix == EMAIL
    assert main(["cliente", "dados-proprios", "padaria", "--cep", "abc"]) == 1
    assert "CEP inválido" in capsys.readouterr().err


def test_the_demo_bakery_keeps_its_phone_in_the_answers(engine, session, tmp_path):
    from core.demo import generate as demo

    anchor = demo.default_anchor()
    demo.load_database(engine, demo.generate_conversations(200, seed=3, anchor=anchor), anchor)
    with engine.begin() as conn:
        from sqlalchemy import text
        conn.execute(text("UPDATE conversas SET avaliacao = 'boa'"))
    out = tmp_path / "padaria.jsonl"
    report = export_dataset(session, "padaria-pao-dourado", out)
    content = out.read_text(encoding="utf-8")
    assert report.mantidos.get("telefone", 0) > 0
    assert "(11) 3030-1001" in content
    assert "pelo telefone [TELEFONE]" not in content


def test_the_clientes_page_edits_the_details(engine):
    from tests.pages_helpers import logged_in_dashboard, shown
    from tests.poll_helpers import make_cliente

    make_cliente(engine, "padaria")
    at = logged_in_dashboard(engine, page="pages/screens/clientes.py")
    assert not at.exception
    at.text_area(key="dp_telefones_padaria").input("(11) 3030-1001\n(11) 93000-1001")
    at.text_input(key="dp_cnpj_padaria").input(CNPJ)
    at.button(key="FormSubmitter:dados_proprios_padaria-Salvar dados públicos").click()
    at.run()
    assert not at.exception and "Dados públicos salvos." in [shown(s.value) for s in at.success]
    from core.db import session_scope
    with session_scope(engine) as session:
        dados = dados_proprios(get_cliente(session, "padaria"))
    assert dados.telefones == ["(11) 3030-1001", "(11) 93000-1001"] and dados.cnpj == CNPJ
    at.text_input(key="dp_cep_padaria").input("123")
    at.button(key="FormSubmitter:dados_proprios_padaria-Salvar dados públicos").click()
    at.run()
    assert any("CEP inválido" in shown(e.value) for e in at.error)


def test_a_correction_keeps_the_cliente_s_own_details_in_both_files(session, cliente, tmp_path):
    """A corrected answer that gives the shop's phone teaches the phone, not [TELEFONE]."""
    from sqlalchemy import select

    from core.db.tables import Mensagem
    from core.review.corrections import save_correction
    from core.training.preference import write_preference_file

    _boas(session, cliente, 10)
    conversa = _conversa(session, cliente, [("user", "qual o telefone? o meu é (11) 98765-4321"),
                                            ("assistant", "Não sei informar.")])
    bot = session.scalar(select(Mensagem.id).where(Mensagem.conversa_id == conversa.id,
                                                   Mensagem.role == "assistant"))
    save_correction(session, bot, f"Ligue {PHONE} ou escreva para {EMAIL}.", "ana")
    session.flush()
    out = tmp_path / "padaria.jsonl"
    report = export_dataset(session, "padaria", out)
    sft = out.read_text(encoding="utf-8")
    assert report.exemplos_corrigidos == 1
    assert f"Ligue {PHONE} ou escreva para {EMAIL}." in sft
    dpo = tmp_path / "padaria-dpo.jsonl"
    write_preference_file(session, cliente, dpo)
    rows = [json.loads(line) for line in dpo.read_text(encoding="utf-8").splitlines()]
    [row] = rows
    assert row["preferred_output"][0]["content"] == f"Ligue {PHONE} ou escreva para {EMAIL}."
    for text in (sft, dpo.read_text(encoding="utf-8")):
        assert "98765-4321" not in text  # the customer's phone is still redacted
