"""Which provider trains a cliente's model, on which base model: the per-provider catalogue.

`clientes.provedor` (NULL = CURADORIA_PROVEDOR_PADRAO) says where the next fine-tuning
runs; `clientes.modelo_base` is the base model it trains on, from that provider's
catalogue: OpenAI's (core.finetune.catalog, with shutdown dates and the cut-off for new
jobs) or Together's open models (CURADORIA_MODELOS_BASE_TOGETHER, no shutdown date: the
adapter's weights stay with the team). The one place that checks a base model for its
provider (`check_base_model_for`), used by the start, the page and the CLI.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.clientes.directory import get_cliente
from core.config import get_settings
from core.db.tables import Cliente
from core.errors import InvalidInput
from core.finetune import catalog
from core.finetune.deploy import endpoint_for, set_active_model
from core.finetune.registry import provider_names

PROVIDER_LABELS = {
    "openai": "OpenAI",
    "together": "Together AI (modelo aberto, servido pelo vLLM da equipe)",
}
OPEN_MODEL_SHUTDOWN = ("Modelo aberto: sem data de desligamento (o adaptador fica com a "
                       "equipe e é servido pelo vLLM).")


def provider_of(cliente: Cliente) -> str:
    """The provider the cliente's next fine-tuning runs on."""
    return cliente.provedor or get_settings().provedor_padrao


def together_base_models() -> list[str]:
    """Together's base models offered for LoRA (CURADORIA_MODELOS_BASE_TOGETHER)."""
    from core.finetune.providers.together import base_models

    return base_models(get_settings())


def base_models_for(provedor: str) -> list[str]:
    """The base models a cliente on `provedor` may choose, the default first."""
    _check_provider(provedor)
    if provedor == "together":
        return together_base_models()
    return [m.nome for m in catalog.MODELS.values() if m.disponivel]


def default_base_model(provedor: str, atual: str | None = None) -> str:
    """`atual` when it belongs to the provider's catalogue, else the catalogue's first."""
    modelos = base_models_for(provedor)
    if atual in modelos:
        return atual
    if not modelos:
        raise InvalidInput(f"Nenhum modelo base configurado para o provedor {provedor}.")
    return modelos[0]


def check_base_model_for(provedor: str, nome: str, today: dt.date) -> None:
    """Raise ModelUnavailable (pt-BR) unless a new job on `nome` can start at `provedor`."""
    if provedor == "together":
        if nome not in together_base_models():
            raise catalog.ModelUnavailable(
                f"O modelo base {nome} não está entre os modelos abertos oferecidos para "
                "fine-tuning na Together AI (CURADORIA_MODELOS_BASE_TOGETHER)."
            )
        return
    catalog.check_base_model(nome, today)


def shutdown_text_for(provedor: str, nome: str) -> str:
    """The pt-BR sentence about the base model's shutdown date, for the confirm dialog."""
    if provedor == "together":
        return OPEN_MODEL_SHUTDOWN
    return catalog.shutdown_text(nome)


@dataclass(frozen=True)
class FineTuningChoice:
    provedor: str
    modelo_base: str


def fine_tuning_choice(session: Session, slug: str) -> FineTuningChoice:
    """The cliente's provider (the default when unset) and base model, for the page."""
    cliente = get_cliente(session, slug)
    return FineTuningChoice(provider_of(cliente), cliente.modelo_base)


def provider_label(provedor: str) -> str:
    return PROVIDER_LABELS.get(provedor, provedor)


def _check_provider(provedor: str) -> None:
    if provedor not in provider_names():
        raise InvalidInput(
            f"Provedor de fine-tuning desconhecido: '{provedor}'. Use um destes: "
            f"{', '.join(provider_names())}."
        )


def resolve_choice(cliente: Cliente, provedor: str | None = None,
                   modelo_base: str | None = None) -> tuple[str, str]:
    """(provider, base model) for a start: the given ones, else the cliente's; validated."""
    proprio = provider_of(cliente)
    provedor = provedor or proprio
    _check_provider(provedor)
    if modelo_base is None:  # the cliente's own base (a retired one is refused later)
        modelo_base = (cliente.modelo_base if provedor == proprio
                       else default_base_model(provedor, cliente.modelo_base))
    elif modelo_base not in base_models_for(provedor):
        raise InvalidInput(
            f"O modelo base {modelo_base} não é oferecido pelo provedor "
            f"{provider_label(provedor)}. Opções: {', '.join(base_models_for(provedor))}."
        )
    return provedor, modelo_base


def set_fine_tuning_provider(session: Session, slug: str, provedor: str,
                             modelo_base: str | None = None, *,
                             usuario: str | None = None) -> Cliente:
    """Choose where the cliente's next fine-tuning runs, and on which base model.

    The bot is untouched: when it was on its base model (modelo_ativo NULL) and the base
    changes, that model is pinned as the model in use (one history row), so the bot only
    changes model when a fine-tune (or an admin) says so.
    """
    cliente = get_cliente(session, slug)
    provedor, modelo_base = resolve_choice(cliente, provedor, modelo_base)
    if cliente.modelo_ativo is None and cliente.modelo_base != modelo_base:
        antigo = cliente.modelo_base
        set_active_model(session, cliente, antigo, motivo="troca_de_provedor",
                         alterado_por=usuario, endpoint=endpoint_for(antigo))
    cliente.provedor = provedor
    cliente.modelo_base = modelo_base
    session.flush()
    return cliente
