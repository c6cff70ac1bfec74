"""pt-BR formatting (core.formato): money, counts, percentages, dates, plurals, words."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core import formato as f


@pytest.mark.parametrize("valor, moeda, esperado", [
    (1234.56, "R$", "R$ 1.234,56"), (Decimal("0.24"), "US$", "US$ 0,24"), (0, "R$", "R$ 0,00"),
    (Decimal("1.005"), "R$", "R$ 1,01"), (1234567.8, "R$", "R$ 1.234.567,80"),
    (-5.5, "R$", "-R$ 5,50"), (None, "R$", "—"), (Decimal("1.32"), "US$", "US$ 1,32"),
])
def test_money(valor, moeda, esperado):
    assert f.dinheiro(valor, moeda) == esperado


def test_counts_and_decimals():
    assert f.inteiro(12345) == "12.345" and f.inteiro(7) == "7" and f.inteiro(None) == "—"
    assert f.decimal(1234.5, 1) == "1.234,5" and f.decimal(0.333333, 3) == "0,333"


@pytest.mark.parametrize("fracao, casas, esperado", [
    (0.425, 1, "42,5%"), (0.5, 1, "50%"), (1, 0, "100%"), (0.12345, 2, "12,35%"), (None, 1, "—"),
])
def test_percentages(fracao, casas, esperado):
    assert f.percentual(fracao, casas) == esperado


def test_dates_are_dd_mm_yyyy_in_the_local_zone():
    assert f.data(dt.date(2027, 1, 14)) == "14/01/2027"
    # 02:30 UTC is still the day before in São Paulo (UTC-3)
    assert f.data(dt.datetime(2026, 10, 5, 2, 30)) == "04/10/2026"
    assert f.data_hora(dt.datetime(2026, 10, 5, 2, 30)) == "04/10/2026 23:30"
    assert f.data(None) == f.data_hora(None) == "—"


@pytest.mark.parametrize("n, singular, plural, esperado", [
    (1, "job", None, "1 job"), (0, "job", None, "0 jobs"), (2, "conversa boa", None, "2 conversas boas"),
    (3, "exemplo duplicado", None, "3 exemplos duplicados"), (2, "cliente", None, "2 clientes"),
    (2, "ocorrência", None, "2 ocorrências"), (2, "avaliação", None, "2 avaliações"),
    (1234, "conversa", None, "1.234 conversas"), (2, "dia útil", "dias úteis", "2 dias úteis"),
    (2, "mensagem", None, "2 mensagens"), (2, "modelo trocado", None, "2 modelos trocados"),
])
def test_plurals(n, singular, plural, esperado):
    assert f.plural(n, singular, plural) == esperado


def test_provider_statuses_in_words():
    assert f.status_provedor("validating_files") == "validando arquivos"
    assert f.status_provedor("queued") == "na fila"
    assert f.status_provedor("succeeded") == "concluído"
    assert f.status_provedor("something_new") == "something new"
    assert f.status_provedor(None) == "—"


def test_future_dates_in_the_future_tense():
    hoje = dt.date(2026, 12, 3)
    assert f.desligamento(dt.date(2027, 1, 14), "pela OpenAI", hoje) == \
        "Será desligado pela OpenAI em 14/01/2027."
    assert f.desligamento(dt.date(2026, 12, 1), "pela OpenAI", hoje) == \
        "Desligado pela OpenAI em 01/12/2026."
