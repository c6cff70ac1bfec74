"""The one provider registry: which fine-tuning provider to use, and whether it can be.

Start, the pages, the CLI and the poller ask `get_provider`; nothing outside
core/finetune/ imports a concrete provider module (tests/test_layout.py checks it). A job
remembers its provider's name (`fine_tuning_jobs.provedor`), so the poller asks for the
same one later.

To add a provider: write core/finetune/providers/<name>.py with `create_provider(settings)`
(returns a `FineTuningProvider`, raises a `ProviderError` such as MissingApiKey) and
`configuration_problem(settings)` (the pt-BR reason it cannot be used, '' when it can),
then add its name to PROVIDERS below (and `METODOS = ("sft", "dpo")` when it also trains on
preference pairs: create_job then takes `metodo="dpo"`). A provider that knows when its models shut down
also offers `list_shutdown_dates(settings)` (model id -> date or None).
"""
from __future__ import annotations

import datetime as dt
import importlib
from types import ModuleType

from core.config import Settings, get_settings
from core.finetune.provider import FineTuningProvider, ProviderError

DEFAULT_PROVIDER = "openai"
# name -> module; imported on first use (a provider's SDK is only loaded when needed).
PROVIDERS = {
    "openai": "core.finetune.providers.openai",
    "together": "core.finetune.providers.together",
}


def provider_names() -> tuple[str, ...]:
    return tuple(PROVIDERS)


def _module(name: str | None) -> ModuleType:
    name = name or DEFAULT_PROVIDER
    if name not in PROVIDERS:
        raise ProviderError(f"Provedor de fine-tuning desconhecido: '{name}'.")
    return importlib.import_module(PROVIDERS[name])


def get_provider(name: str | None = None, settings: Settings | None = None) -> FineTuningProvider:
    """The provider called `name` (default: DEFAULT_PROVIDER), ready to use.

    Raises ProviderError for an unknown name and the provider's own error (e.g.
    MissingApiKey) when it is not configured.
    """
    return _module(name).create_provider(settings or get_settings())


def supported_methods(name: str | None = None) -> tuple[str, ...]:
    """The training methods the provider offers: 'sft', and 'dpo' where it trains on
    preference pairs (a provider module lists them in METODOS; default SFT only)."""
    return tuple(getattr(_module(name), "METODOS", ("sft",)))


def configuration_problem(name: str | None = None, settings: Settings | None = None) -> str:
    """Why the provider cannot be used now, in pt-BR ('' when it can)."""
    return _module(name).configuration_problem(settings or get_settings())


def list_shutdown_dates(name: str | None = None,
                        settings: Settings | None = None) -> dict[str, dt.date | None] | None:
    """The shutdown dates the provider reports (model id -> date or None), or None when
    the provider cannot tell (e.g. adapters served by our own vLLM). Raises ProviderError
    when the provider does not answer."""
    module = _module(name)
    if not hasattr(module, "list_shutdown_dates"):
        return None
    return module.list_shutdown_dates(settings or get_settings())
