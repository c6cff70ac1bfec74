"""Base models, shutdown dates and the provider's cut-off (DESIGN.md, late 2026)."""
from __future__ import annotations

import datetime as dt

import pytest

from core.finetune.catalog import (
    ModelUnavailable,
    check_base_model,
    estimate_duration,
    get_base_model,
    shutdown_text,
)
from core.finetune.jobs import format_brl, format_usd

BEFORE = dt.date(2026, 12, 1)


@pytest.mark.parametrize("nome", ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06",
                                  "gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14"])
def test_current_base_models_shut_down_on_14_january_2027(nome):
    assert check_base_model(nome, BEFORE).desligamento == dt.date(2027, 1, 14)
    assert shutdown_text(nome, BEFORE) == "Será desligado pela OpenAI em 14/01/2027."
    assert shutdown_text(nome, dt.date(2027, 1, 14)) == "Desligado pela OpenAI em 14/01/2027."


@pytest.mark.parametrize("nome", ["gpt-3.5-turbo-0125", "gpt-4.1-nano-2025-04-14"])
def test_retired_base_models_are_refused(nome):
    with pytest.raises(ModelUnavailable, match="descontinuado"):
        check_base_model(nome, BEFORE)
    assert shutdown_text(nome) == "Modelo já descontinuado."


def test_an_unknown_model_is_refused_in_portuguese():
    with pytest.raises(ModelUnavailable, match="não está no catálogo"):
        check_base_model("gpt-9", BEFORE)


def test_new_jobs_are_refused_from_6_january_2027():
    check_base_model("gpt-4o-mini-2024-07-18", dt.date(2027, 1, 5))
    with pytest.raises(ModelUnavailable, match="desde 06/01/2027"):
        check_base_model("gpt-4o-mini-2024-07-18", dt.date(2027, 1, 6))


def test_a_fine_tuned_name_resolves_to_its_base_model():
    assert get_base_model("ft:gpt-4o-mini-2024-07-18:org:loja:abc").nome == \
        "gpt-4o-mini-2024-07-18"


def test_estimated_time_grows_with_the_billed_tokens():
    assert estimate_duration(10_000) == "1-2 horas"
    assert estimate_duration(20_000_000) == "10-21 horas"


def test_money_is_shown_the_brazilian_way():
    assert format_brl("1234.5") == "R$ 1.234,50"
    assert format_brl(None) == "—"
    assert format_usd("0.03") == "US$ 0,03"
