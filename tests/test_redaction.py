"""Personal data typed by customers is removed; ordinary numbers survive."""
from __future__ import annotations

from collections import Counter

import pytest

from core.training.redaction import cnpj_is_valid, cpf_is_valid, luhn_is_valid, redact_text

CPF = "529.982.247-25"  # valid check digits
CNPJ = "11.222.333/0001-81"  # valid check digits
CARTAO = "4111 1111 1111 1111"  # Luhn-valid test Visa


def _redact(text: str) -> tuple[str, Counter]:
    counts: Counter = Counter()
    return redact_text(text, counts), counts


@pytest.mark.parametrize("spelling", [
    "529.982.247-25", "52998224725", "529982247-25", "529 982 247 25", "529.982.247.25",
    "529.982.247/25", "529982.247-25",
])
def test_valid_cpfs_are_removed_in_every_common_spelling(spelling):
    out, counts = _redact(f"meu cpf é {spelling}, obrigado")
    assert out == "meu cpf é [CPF], obrigado"
    assert counts == {"cpf": 1}


def test_a_punctuated_cpf_with_wrong_check_digits_is_removed_anyway():
    out, _ = _redact("cpf 529.982.247-00")
    assert "529" not in out and "[CPF]" in out


def test_a_bare_eleven_digit_number_that_is_not_a_cpf_nor_a_phone_survives():
    assert not cpf_is_valid("12345678900")
    out, counts = _redact("protocolo 12345678900")
    assert out == "protocolo 12345678900" and not counts


@pytest.mark.parametrize("spelling", [
    "11.222.333/0001-81", "11222333000181", "11.222.333.0001-81", "11222333/0001-81",
    "11 222 333/0001-81", "11.222.333/000181",
])
def test_valid_cnpjs_are_removed_in_every_common_spelling(spelling):
    out, counts = _redact(f"CNPJ: {spelling}.")
    assert out == "CNPJ: [CNPJ]."
    assert counts == {"cnpj": 1}


@pytest.mark.parametrize("spelling", [
    "(11) 98765-4321", "(11) 9 8765-4321", "11 98765-4321", "11987654321", "+55 11 98765-4321",
    "+5511987654321", "5511987654321", "(011) 98765-4321", "011 98765-4321", "98765-4321",
    "987654321", "(21) 3456-7890", "21 3456-7890", "2134567890", "3456-7890", "11 98765 4321",
    "11.98765.4321", "(11)98765-4321", "+55 (11) 98765-4321", "55 11 98765 4321",
])
def test_phones_are_removed_in_every_common_brazilian_spelling(spelling):
    out, counts = _redact(f"me liga no {spelling} por favor")
    assert out == "me liga no [TELEFONE] por favor", out
    assert counts == {"telefone": 1}


@pytest.mark.parametrize("email", [
    "maria.silva@gmail.com", "joao_souza+loja@empresa.com.br", "ANA@HOTMAIL.COM", "x-y@a-b.org",
])
def test_emails_are_removed(email):
    out, counts = _redact(f"manda pra {email}!")
    assert out == "manda pra [EMAIL]!"
    assert counts == {"email": 1}


@pytest.mark.parametrize(("text", "expected"), [
    ("CEP 01310-100", "CEP [CEP]"),
    ("cep: 01.310-100", "cep: [CEP]"),
    ("meu CEP é 01310100", "meu CEP é [CEP]"),
    ("moro no 30130-010, perto da praça", "moro no [CEP], perto da praça"),
])
def test_ceps_are_removed(text, expected):
    assert _redact(text)[0] == expected


@pytest.mark.parametrize("card", [
    "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "5555555555554444",
    "3782 822463 10005", "378282246310005", "6062 8266 7426 2413",
])
def test_card_numbers_are_removed(card):
    out, counts = _redact(f"cartão {card} validade 12/29")
    assert out == "cartão [CARTAO] validade 12/29", out
    assert counts == {"cartao": 1}


def test_a_long_number_failing_luhn_survives_as_an_order_number():
    assert not luhn_is_valid("4111111111111112")
    assert _redact("pedido 4111111111111112")[0] == "pedido 4111111111111112"


@pytest.mark.parametrize("key", [
    "123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000",
    "123e4567e89b12d3a456426614174000",
])
def test_pix_random_keys_are_removed(key):
    out, counts = _redact(f"chave pix: {key}")
    assert out == "chave pix: [CHAVE_PIX]"
    assert counts == {"chave_pix": 1}


@pytest.mark.parametrize("text", [
    "O pão francês custa R$ 0,75 e o bolo R$ 1.234,56.",
    "Seu pedido #48213 foi enviado em 12/03/2026 às 14:30.",
    "pedido 48213, protocolo 20261126, nota 123456",
    "Entregamos em até 2 horas, 7 dias por semana, das 8h às 22h.",
    "Comprei 3 pães e 2 litros de leite no dia 25/12.",
    "O total foi 1.500 reais em 10x de 150,00.",
    "Código de rastreio BR123456789BR",
    "data 2026-11-26, hora 09:15:30",
    "versão 1.2.3, sala 204, km 12",
])
def test_ordinary_numbers_survive(text):
    out, counts = _redact(text)
    assert out == text and not counts


def test_several_kinds_in_one_message_are_all_counted_by_type():
    text = (f"CPF {CPF}, CNPJ {CNPJ}, fone (11) 98765-4321, email a@b.com.br, "
            f"CEP 01310-100, cartão {CARTAO}, pix 123e4567-e89b-12d3-a456-426614174000")
    out, counts = _redact(text)
    assert out == ("CPF [CPF], CNPJ [CNPJ], fone [TELEFONE], email [EMAIL], CEP [CEP], "
                   "cartão [CARTAO], pix [CHAVE_PIX]")
    assert counts == {"cpf": 1, "cnpj": 1, "telefone": 1, "email": 1, "cep": 1,
                      "cartao": 1, "chave_pix": 1}


def test_check_digit_helpers():
    assert cpf_is_valid("52998224725") and not cpf_is_valid("11111111111")
    assert cnpj_is_valid("11222333000181") and not cnpj_is_valid("11222333000182")
    assert luhn_is_valid("4111111111111111")
