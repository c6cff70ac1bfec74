"""The provider registry: the one place that says which provider a job uses."""
from __future__ import annotations

import pytest

from core import config as config_module
from core.finetune.provider import ProviderError
from core.finetune.registry import DEFAULT_PROVIDER, configuration_problem, get_provider, provider_names


@pytest.fixture
def no_openai_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config_module.reset_settings()
    yield
    config_module.reset_settings()


def test_an_unknown_provider_is_a_portuguese_error_not_a_crash():
    with pytest.raises(ProviderError, match="Provedor de fine-tuning desconhecido: 'fireworks'"):
        get_provider("fireworks")
    with pytest.raises(ProviderError, match="desconhecido"):
        configuration_problem("fireworks")


def test_without_a_name_the_default_provider_is_used(fake_openai):
    assert DEFAULT_PROVIDER in provider_names()
    assert get_provider().name == DEFAULT_PROVIDER == get_provider(DEFAULT_PROVIDER).name


def test_a_provider_without_its_key_says_why_before_anything_starts(no_openai_key):
    assert "OPENAI_API_KEY" in configuration_problem("openai")


def test_a_configured_provider_has_no_problem(fake_openai):
    assert configuration_problem() == ""
