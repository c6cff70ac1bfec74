"""Make an open model's fine-tune callable: its LoRA adapter on the team's vLLM.

`prepare_adapter` is what the Together provider's `prepare_model` does for
core.finetune.rollout (which stays provider-agnostic: claim, prepare, gate, apply once):

1. download the adapter into CURADORIA_ADAPTERS_DIR/<slug>/<job>/ (unpacked safely and
   verified: files present, safetensors header sound, trained on the job's base model);
   a folder that already holds a valid adapter is kept (a retry after a crash);
2. check vLLM serves that base model, load the adapter under `adapter_name(slug, job)`
   (idempotent: already loaded from the same path counts as done);
3. smoke-test one pt-BR question through it.

The bot then calls the adapter's name at CURADORIA_VLLM_URL_BOT. Failures keep the bot
where it is (rollout records them and notifies once): vLLM down, not configured,
refusing the load, the smoke answer failing, or the weights not ready yet are transient
(retried next cycle: the admin may fix vLLM meanwhile); a corrupt archive or one trained
on another base model is permanent (`implantacao = 'falhou'`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from core.config import Settings, get_settings
from core.finetune.provider import ProviderError
from core.finetune.vllm import VllmClient, VllmError, adapter_name, get_vllm_client


class DeployRetry(ProviderError):
    """A step of putting the adapter into use failed in a way the next cycle may fix."""

    transient = True


def adapter_dir(slug: str, job_id: int, settings: Settings | None = None) -> Path:
    """Where a job's adapter lives; vLLM must see the same path."""
    settings = settings or get_settings()
    return Path(settings.adapters_dir) / slug / str(job_id)


def prepare_adapter(provider: Any, request: Any, *, settings: Settings | None = None,
                    vllm: VllmClient | None = None) -> Any:
    """Download, load and smoke-test the job's adapter; the rollout's Candidate."""
    from core.finetune.rollout import Candidate

    settings = settings or get_settings()
    if not request.provider_job_id:
        raise ProviderError(f"O job {request.job_id} não tem o id do job no provedor: não há "
                            "adaptador para baixar.")
    name = adapter_name(request.slug, request.job_id)
    path = provider.download_adapter(request.provider_job_id,
                                     adapter_dir(request.slug, request.job_id, settings),
                                     base_model=request.modelo_base)
    try:
        vllm = vllm or get_vllm_client(settings)
        if request.modelo_base:
            vllm.check_base_model(request.modelo_base)
        vllm.load_adapter(name, path)
        vllm.smoke_test(name)
    except VllmError as exc:
        if exc.transient:
            raise
        raise DeployRetry(exc.mensagem) from exc
    endpoint = (settings.vllm_url_bot or "").strip()
    if not endpoint:
        raise DeployRetry("CURADORIA_VLLM_URL_BOT não está configurada: não sei onde o bot "
                          f"deve chamar o adaptador {name}.")
    return Candidate(modelo=name, endpoint=endpoint)
