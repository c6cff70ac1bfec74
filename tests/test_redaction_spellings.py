"""Personal data is removed however customers type it; ordinary numbers survive.

Hand-written, the way people write on WhatsApp: separators between every group, spaces,
commas, line breaks, glued to words before and after, cards in odd groups, phones from
abroad. Each form names the datum it holds; after redaction none of the datum's digits
is left and every other digit of the message is (so a partial leak or an over-eager
rule both fail). The same forms, planted in good conversas, must not reach the
exported training file.
"""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from core.training.dataset import export_dataset
from core.training.redaction import PLACEHOLDERS, redact_text
from tests.conversas_factory import add_cliente, add_conversa


def _form(text: str, *data: tuple[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    for datum, _kind in data:
        assert datum in text
    return text, data


FORMS = [
    # CPF: the spellings that leaked, then more of them.
    _form("meu cpf é 529-982-247-25", ("529-982-247-25", "cpf")),
    _form("cpf 5 2 9 9 8 2 2 4 7 2 5 obrigada", ("5 2 9 9 8 2 2 4 7 2 5", "cpf")),
    _form("CPF: 529982247 25", ("529982247 25", "cpf")),
    _form("o cpf é 529. 982. 247-25", ("529. 982. 247-25", "cpf")),
    _form("cpf 529.982.\n247-25", ("529.982.\n247-25", "cpf")),
    _form("CPF529.982.247-25", ("529.982.247-25", "cpf")),
    _form("meuCPF52998224725", ("52998224725", "cpf")),
    _form("cpf: 529,982,247-25", ("529,982,247-25", "cpf")),
    _form("segue o cpf dela 111 444 777 35, obrigada", ("111 444 777 35", "cpf")),
    _form("cpf:111.444.777-35obrigado", ("111.444.777-35", "cpf")),
    _form("CPF 111-444-777/35 por favor", ("111-444-777/35", "cpf")),
    _form("cpf 1114447 7735", ("1114447 7735", "cpf")),
    _form("cpf 111.444.777\n-35", ("111.444.777\n-35", "cpf")),
    _form("cpf123.456.789-09pf", ("123.456.789-09", "cpf")),
    _form("o cpf do meu marido é\n390533447\n05", ("390533447\n05", "cpf")),
    _form("cpf 390 - 533 - 447 - 05 tá certo?", ("390 - 533 - 447 - 05", "cpf")),
    _form("Cpf:86288366757,nome Ana", ("86288366757", "cpf")),
    _form("cpf 862,883,667,57", ("862,883,667,57", "cpf")),
    _form("meu cpf é 862 883 667-57 e o pedido chegou errado", ("862 883 667-57", "cpf")),
    # CNPJ
    _form("cnpj 11 222 333 0001 81", ("11 222 333 0001 81", "cnpj")),
    _form("CNPJ11222333000181", ("11222333000181", "cnpj")),
    _form("cnpj:11.222.333.0001.81x", ("11.222.333.0001.81", "cnpj")),
    _form("CNPJ 11-222-333-0001-81", ("11-222-333-0001-81", "cnpj")),
    _form("cnpj da loja 45 723 174/0001 10", ("45 723 174/0001 10", "cnpj")),
    _form("cnpj 45,723,174/0001-10", ("45,723,174/0001-10", "cnpj")),
    _form("cnpj 45723174\n0001-10", ("45723174\n0001-10", "cnpj")),
    _form("empresa 04.252.011/0001-10ltda", ("04.252.011/0001-10", "cnpj")),
    _form("cnpj 04252011 0001 10 pra nota", ("04252011 0001 10", "cnpj")),
    _form("faturar no cnpj33000167000101", ("33000167000101", "cnpj")),
    # Cards (Luhn-valid), in the groups people use.
    _form("cartão 4111 11111111 1111", ("4111 11111111 1111", "cartao")),
    _form("cartao 41111111 11111111", ("41111111 11111111", "cartao")),
    _form("cartão 4111 1111 11111111 validade 12/29", ("4111 1111 11111111", "cartao")),
    _form("numero 5555 555555554444", ("5555 555555554444", "cartao")),
    _form("cartão5555555555554444", ("5555555555554444", "cartao")),
    _form("amex 3782 8224 6310 005", ("3782 8224 6310 005", "cartao")),
    _form("cartão:\n4111\n1111\n1111\n1111", ("4111\n1111\n1111\n1111", "cartao")),
    _form("6062 826786276634 é o hipercard", ("6062 826786276634", "cartao")),
    _form("4 0 1 2 8 8 8 8 8 8 8 8 1 8 8 1", ("4 0 1 2 8 8 8 8 8 8 8 8 1 8 8 1", "cartao")),
    _form("cartao4111 1111 1111 1111x", ("4111 1111 1111 1111", "cartao")),
    _form("numero do cartao: 4012-88888888-1881, validade 12/29", ("4012-88888888-1881", "cartao")),
    _form("mastercard 2223 000048400011 cvv 123", ("2223 000048400011", "cartao")),
    _form("discover 6011.1111.11111117fim", ("6011.1111.11111117", "cartao")),
    _form("jcb 35660020 20360505", ("35660020 20360505", "cartao")),
    # Phones, from abroad and Brazilian ones glued or grouped oddly.
    _form("+1 (415) 555-2671", ("+1 (415) 555-2671", "telefone")),
    _form("me liga no +44 20 7946 0958", ("+44 20 7946 0958", "telefone")),
    _form("meu número em portugal é +351 912 345 678obrigado", ("+351 912 345 678", "telefone")),
    _form("tel11987654321", ("11987654321", "telefone")),
    _form("whats11 98765-4321", ("11 98765-4321", "telefone")),
    _form("cel(11) 98765-4321", ("(11) 98765-4321", "telefone")),
    _form("liga 11 987 654 321", ("11 987 654 321", "telefone")),
    _form("argentina: +54 9 11 1234-5678", ("+54 9 11 1234-5678", "telefone")),
    _form("+1-415-555-2671 é o do meu irmão", ("+1-415-555-2671", "telefone")),
    _form("telefone:+14155552671", ("+14155552671", "telefone")),
    _form("zap 55 11 9 8765 4321", ("55 11 9 8765 4321", "telefone")),
    _form("meu numero é 11 9\n8765-4321", ("11 9\n8765-4321", "telefone")),
    _form("contato 1198765-4321ok", ("1198765-4321", "telefone")),
    _form("+55 (21) 9 9876-5432", ("+55 (21) 9 9876-5432", "telefone")),
    _form("fixo 21.3456.7890 ou celular 21-99876-5432", ("21.3456.7890", "telefone"),
          ("21-99876-5432", "telefone")),
    _form("celular98765-4321", ("98765-4321", "telefone")),
    # E-mails
    _form("maria.silva @ gmail.com", ("maria.silva @ gmail.com", "email")),
    _form("email:joao_souza@empresa.com.br", ("joao_souza@empresa.com.br", "email")),
    _form("meu email é ana.paula@\nhotmail.com", ("ana.paula@\nhotmail.com", "email")),
    _form("manda no emailmaria.silva@gmail.com", ("maria.silva@gmail.com", "email")),
    _form("joao.pedro@ yahoo.com.br obrigado", ("joao.pedro@ yahoo.com.br", "email")),
    # CEPs
    _form("cep01310-100", ("01310-100", "cep")),
    _form("CEP 01310 100", ("01310 100", "cep")),
    _form("cep: 01.310.100", ("01.310.100", "cep")),
    _form("01310-100casa 2", ("01310-100", "cep")),
    _form("CEP:01310-\n100", ("01310-\n100", "cep")),
    _form("meu cep é 30130 010", ("30130 010", "cep")),
    # Several in one message, among other numbers.
    _form("oi, meu cpf é 529 982 247 25 e o cel 11 987 654 321",
          ("529 982 247 25", "cpf"), ("11 987 654 321", "telefone")),
    _form("cpfs 529-982-247-25, 111-444-777-35", ("529-982-247-25", "cpf"), ("111-444-777-35", "cpf")),
    _form("pedido 12, cpf 529 982 247 25", ("529 982 247 25", "cpf")),
    _form("CPF529.982.247-25 tel11987654321", ("529.982.247-25", "cpf"), ("11987654321", "telefone")),
    _form("comprei 2 itens de R$ 49,90 no cartão 4111 11111111 1111 dia 12/03",
          ("4111 11111111 1111", "cartao")),
    _form("entrega no cep 01310 100, fone 11 987 654 321, cpf 529982247 25",
          ("01310 100", "cep"), ("11 987 654 321", "telefone"), ("529982247 25", "cpf")),
]

# Numbers that are not personal data, or that the rules keep on purpose.
ORDINARY = [
    "O pão custa R$ 16,90 o quilo",
    "deu R$ 1.234,56 no total",
    "ficou 49,90 com o frete",
    "Total: R$ 1.299,90 em 10x de R$ 129,99",
    "a entrega é dia 12/03/2026",
    "data 2026-03-12",
    "vencimento 12.03.2026",
    "chega às 14:30",
    "das 8h às 18h, de segunda a sábado",
    "pedido 123456",
    "pedido #48213 de 12/03/2026 às 14:30",
    "protocolo 20261126",
    "protocolo 123456789",
    "protocolo 2019876543",
    "protocolo 0012345678",
    "protocolo 483920",
    "3 unidades de 500 g",
    "2 kg de farinha e 12 ovos",
    "desde 2025",
    "nos anos 2024, 2025 e 2026",
    "nota fiscal 000123456",
    "sala 204, km 12",
    "Rua das Flores, 123 - Vila Mariana",
    "versão 1.2.3",
    "das 14:30 - 15:45",
    "de 12/03 a 15/03",
    "taxa de R$ 5,00; pedidos acima de R$ 60,00 têm frete grátis",
    "tamanhos 36, 38, 40, 42 e 44",
    "Código de rastreio BR123456789BR",
    "rastreio BR923456789BR",
    "pix de R$ 1.500,00 às 10:45 do dia 05/11/2026",
    "pedido 1234567",
    "quantidade: 10, 20, 30",
    "1/2 dúzia de pães",
    "nº 4521",
    "código 987 654",
    "nota 04538133",  # eight digits without the word CEP: kept, as before
    "preços: 16,90 6,50 35,00 4,50 48,00",
    "R$ 219,90, R$ 159,90, R$ 129,90 e R$ 99,90",
    "12/03/2026 - 14/03/2026",
    "R$ 1.500.000,00 à vista",
    "mais +2 pães",
    "das 8h às 18h30",
    "apartamento 1502, bloco 3",
    "validade 01/2026",
    "pedido 123.456.789",
    "ficou 1.234,56 + 78,90 = 1.313,46",
]


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@pytest.mark.parametrize(("text", "data"), FORMS, ids=[repr(t)[:40] for t, _ in FORMS])
def test_personal_data_is_removed_however_it_is_typed_and_nothing_else_is(text, data):
    counts: Counter = Counter()
    out = redact_text(text, counts)
    rest = text
    for datum, kind in data:
        rest = rest.replace(datum, " ")
        assert PLACEHOLDERS[kind] in out, out
    assert _digits(out) == _digits(rest), out  # no digit of the data left, every other one kept
    for datum, _kind in data:
        assert datum not in out
        for word in re.findall(r"[^\W\d_]{3,}", datum):  # an e-mail's name and domain
            assert word not in out.replace("[EMAIL]", ""), out
    assert sum(counts.values()) == len(data)
    assert counts == Counter(kind for _datum, kind in data)


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_numbers_survive(text):
    counts: Counter = Counter()
    assert redact_text(text, counts) == text
    assert not counts


def _letters(n: int) -> str:
    return "".join(chr(ord("a") + d) for d in divmod(n, 26))


def _exported_texts(report) -> list[str]:
    """Every message content of the training and validation files, decoded from JSON."""
    texts = []
    for path in (report.train_path, report.validation_path):
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                texts += [m["content"] for m in json.loads(line)["messages"]]
    return texts


def test_planted_personal_data_never_reaches_the_exported_training_file(session, tmp_path):
    cliente = add_cliente(session, "loja-dados", "Loja Dados")
    cliente.system_prompt = "Você é o atendente da Loja Dados."
    for i, (text, _data) in enumerate(FORMS):  # answers told apart by letters, no digits
        add_conversa(session, cliente, ["Oi, tudo bem?", "Olá! Como posso ajudar?", text,
                                        f"Anotado, obrigado! Registro {_letters(i)}."], avaliacao="boa")
    for i, text in enumerate(ORDINARY):
        add_conversa(session, cliente, [text, f"Certo! Registro {_letters(i)}."], avaliacao="boa")
    session.commit()

    report = export_dataset(session, "loja-dados", tmp_path / "treino.jsonl")

    assert report.ok, report.erros
    assert report.exemplos + report.exemplos_validacao == len(FORMS) + len(ORDINARY) and not report.puladas
    texts = _exported_texts(report)
    stream = "".join(_digits(t) for t in texts)  # every separator, line and message boundary removed
    planted = [(datum, kind) for _text, data in FORMS for datum, kind in data]
    # The comparison can see a leak: it finds every datum in the messages as typed ...
    typed = "".join(_digits(text) for text, _data in FORMS)
    assert all(_digits(datum) in typed for datum, kind in planted if kind != "email")
    # ... and in the file, no datum's digits in any spelling, every ordinary number intact.
    leaked = [datum for datum, kind in planted if kind != "email" and _digits(datum) in stream]
    assert leaked == []
    joined = "\n".join(texts)
    assert [d for d, kind in planted if kind == "email" and d.split("@")[0].strip() in joined] == []
    assert all(text in texts for text in ORDINARY)
    assert report.redacoes == dict(Counter(kind for _datum, kind in planted))
