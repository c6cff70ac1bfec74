"""The OpenAI fine-tuning provider, on the official SDK.

Every SDK exception becomes a `ProviderError` subclass with a pt-BR message that can be
shown to the admin and stored in `fine_tuning_jobs.erro` as it is.
"""
from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import openai

from core.config import Settings, get_settings
from core.finetune.provider import (
    FileRejected,
    FineTuningProvider,
    FineTuningRefused,
    InvalidApiKey,
    JobNotFound,
    MissingApiKey,
    ModelRetired,
    ProviderError,
    ProviderJob,
    ProviderUnavailable,
    RateLimited,
    retry_after,
)

T = TypeVar("T")
STEP_RE = re.compile(r"Step\s+(\d+)\s*/\s*(\d+)", re.IGNORECASE)
_REFUSAL_HINTS = ("fine-tun", "fine_tun", "no longer", "not available for your organization",
                  "not allowed")


# Training methods (core.finetune.registry.supported_methods): supervised, and preference
# pairs (DPO) while OpenAI still takes fine-tuning jobs.
METODOS = ("sft", "dpo")


class OpenAIProvider:
    """`FineTuningProvider` backed by OpenAI's files and fine-tuning jobs API."""

    name = "openai"

    def __init__(self, client: openai.OpenAI):
        self.client = client

    def upload_file(self, path: Path) -> str:
        with open(path, "rb") as fh:
            created = _call(lambda: self.client.files.create(
                file=(Path(path).name, fh), purpose="fine-tune"))
        return created.id

    def create_job(self, *, training_file: str, validation_file: str | None, model: str,
                   suffix: str, metadata: dict[str, str], metodo: str = "sft") -> ProviderJob:
        kwargs: dict[str, Any] = {
            "training_file": training_file,
            "model": model,
            "suffix": _clean_suffix(suffix),
            "metadata": {k: str(v) for k, v in metadata.items()},
            # DPO: preference pairs (input, preferred_output, non_preferred_output); beta
            # left to OpenAI ("auto").
            "method": ({"type": "dpo", "dpo": {"hyperparameters": {"beta": "auto"}}}
                       if metodo == "dpo" else {"type": "supervised"}),
        }
        if validation_file:
            kwargs["validation_file"] = validation_file
        # The SDK's own retries are off for this call: the API takes no idempotency key,
        # so a blind retry after a lost answer could start a second (paid) job. A 429 or
        # 5xx answer means nothing was created and is retried here; after a timeout the
        # job is looked up by its metadata instead.
        client = self.client.with_options(max_retries=0)
        attempts = self.client.max_retries + 1
        for attempt in range(attempts):
            try:
                job = _call(lambda: client.fine_tuning.jobs.create(**kwargs), modelo=model)
                return _to_job(job, None)
            except (RateLimited, ProviderUnavailable) as exc:
                cause = exc.__cause__
                if isinstance(cause, openai.APIConnectionError):  # timeouts included
                    found = self._find_job(kwargs["metadata"])
                    if found is not None:
                        return found
                    raise type(exc)(
                        f"{exc} Se um job tiver sido criado mesmo assim, ele aparece no painel "
                        "da OpenAI com a metadata curadoria_job_id="
                        f"{kwargs['metadata'].get('curadoria_job_id', '?')}."
                    ) from cause
                if attempt == attempts - 1:
                    raise
                time.sleep(retry_after(cause, attempt))
        raise AssertionError("unreachable")

    def _find_job(self, metadata: dict[str, str]) -> ProviderJob | None:
        """A recent job carrying our metadata (the create call worked, its answer was lost)."""
        key = metadata.get("curadoria_job_id")
        if not key:
            return None
        try:
            page = _call(lambda: self.client.fine_tuning.jobs.list(limit=100))
        except ProviderError:
            return None
        for job in page.data:
            if (getattr(job, "metadata", None) or {}).get("curadoria_job_id") == key:
                return _to_job(job, None)
        return None

    def get_job(self, job_id: str) -> ProviderJob:
        job = _call(lambda: self.client.fine_tuning.jobs.retrieve(job_id), job_id=job_id)
        progress = None
        if job.status in ("running", "paused", "queued", "validating_files"):
            page = _call(lambda: self.client.fine_tuning.jobs.list_events(job_id, limit=50),
                         job_id=job_id)
            progress = progress_from_events([ev.message for ev in page.data])
        elif job.status == "succeeded":
            progress = 100
        return _to_job(job, progress)

    def cancel_job(self, job_id: str) -> ProviderJob:
        job = _call(lambda: self.client.fine_tuning.jobs.cancel(job_id), job_id=job_id)
        return _to_job(job, None)


def progress_from_events(messages: list[str]) -> int | None:
    """Per cent done from the newest "Step N/M" message (events come newest first)."""
    for message in messages:
        match = STEP_RE.search(message or "")
        if match:
            step, total = int(match.group(1)), int(match.group(2))
            if total > 0:
                return max(0, min(100, step * 100 // total))
    return None


MISSING_KEY = ("Nenhuma chave da API da OpenAI configurada. Defina a variável de ambiente "
               "OPENAI_API_KEY e reinicie o painel para usar o fine-tuning.")


def configuration_problem(settings: Settings | None = None) -> str:
    """The pt-BR reason a job cannot start for lack of an API key, or '' when there is one."""
    settings = settings or get_settings()
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    return "" if key.strip() else MISSING_KEY


def create_provider(settings: Settings | None = None) -> FineTuningProvider:
    """The OpenAI provider (ask core.finetune.registry for it); MissingApiKey without a key."""
    settings = settings or get_settings()
    if configuration_problem(settings):
        raise MissingApiKey(MISSING_KEY)
    key = settings.openai_api_key.get_secret_value()
    client = openai.OpenAI(
        api_key=key.strip(),
        base_url=settings.openai_base_url or None,
        timeout=settings.openai_timeout_seconds,
        max_retries=settings.openai_max_retries,
    )
    return OpenAIProvider(client)


def list_shutdown_dates(settings: Settings | None = None) -> dict[str, dt.date | None]:
    """Every model the key can see and its `shutdown_date` (None when the API gives none).

    Raises a ProviderError (e.g. ProviderUnavailable) when the API cannot be read."""
    provider = create_provider(settings)
    page = _call(lambda: provider.client.models.list())
    return {model.id: _shutdown_date(model) for model in page}


def _shutdown_date(model: Any) -> dt.date | None:
    raw = getattr(model, "shutdown_date", None)
    if raw is None and getattr(model, "model_extra", None):
        raw = model.model_extra.get("shutdown_date")
    if isinstance(raw, (int, float)):  # tolerate a Unix timestamp
        return dt.datetime.fromtimestamp(raw, dt.UTC).date()
    try:
        return dt.date.fromisoformat(str(raw)[:10]) if raw else None
    except ValueError:
        return None



def _clean_suffix(suffix: str) -> str:
    """OpenAI's suffix: up to 64 characters; keep it to letters, digits and dashes."""
    cleaned = re.sub(r"[^a-zA-Z0-9-]+", "-", suffix or "").strip("-")
    return (cleaned or "curadoria")[:64]


def _ts(value: int | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromtimestamp(int(value), dt.UTC).replace(tzinfo=None)


def _to_job(job: Any, progress: int | None) -> ProviderJob:
    error = getattr(job, "error", None)
    error_message = None
    if error is not None:
        message = getattr(error, "message", None)
        code = getattr(error, "code", None)
        if message or code:
            error_message = f"{message or ''}{f' ({code})' if code else ''}".strip()
    return ProviderJob(
        id=job.id,
        status=str(job.status),
        model=getattr(job, "model", None),
        fine_tuned_model=getattr(job, "fine_tuned_model", None),
        trained_tokens=getattr(job, "trained_tokens", None),
        error_message=error_message,
        progress=progress,
        estimated_finish=_ts(getattr(job, "estimated_finish", None)),
        training_file=getattr(job, "training_file", None),
        validation_file=getattr(job, "validation_file", None),
        metadata=dict(getattr(job, "metadata", None) or {}),
    )


def _detail(exc: openai.APIStatusError) -> tuple[str, str]:
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error", body) if isinstance(body, dict) else {}
    err = err if isinstance(err, dict) else {}
    return str(err.get("code") or ""), str(err.get("message") or exc.message or "")


def _call(fn: Callable[[], T], *, modelo: str | None = None,
          job_id: str | None = None) -> T:
    """Run one SDK call and turn its exceptions into ProviderError with pt-BR messages."""
    try:
        return fn()
    except ProviderError:
        raise
    except openai.AuthenticationError as exc:
        raise InvalidApiKey(
            "A chave da API da OpenAI foi recusada (chave inválida ou revogada). "
            "Confira OPENAI_API_KEY."
        ) from exc
    except openai.PermissionDeniedError as exc:
        code, message = _detail(exc)
        raise FineTuningRefused(
            "A OpenAI recusou o fine-tuning para esta organização (sem permissão; o "
            "fine-tuning self-service está sendo encerrado). Detalhe do provedor: "
            f"{message or code}"
        ) from exc
    except openai.NotFoundError as exc:
        if job_id:
            raise JobNotFound(f"O job {job_id} não foi encontrado na OpenAI.") from exc
        if modelo:
            raise ModelRetired(
                f"O modelo base {modelo} não está disponível para fine-tuning "
                "(foi descontinuado ou não existe)."
            ) from exc
        raise JobNotFound("O recurso pedido não foi encontrado na OpenAI.") from exc
    except openai.RateLimitError as exc:
        raise RateLimited(
            "A OpenAI limitou as requisições (limite de uso atingido). Tente novamente em "
            "alguns minutos."
        ) from exc
    except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
        code, message = _detail(exc)
        param = ""
        if isinstance(exc.body, dict):
            err = exc.body.get("error", exc.body)
            param = str((err or {}).get("param") or "") if isinstance(err, dict) else ""
        low = f"{code} {message}".lower()
        if modelo and ("model" in low or param == "model"):
            raise ModelRetired(
                f"O modelo base {modelo} não está mais disponível para fine-tuning na OpenAI "
                f"(descontinuado). Detalhe do provedor: {message}"
            ) from exc
        if any(h in low for h in _REFUSAL_HINTS) and "file" not in low:
            raise FineTuningRefused(
                "A OpenAI recusou o fine-tuning para esta organização. Detalhe do provedor: "
                f"{message}"
            ) from exc
        raise FileRejected(
            "A OpenAI rejeitou o arquivo de treinamento. Detalhe do provedor: "
            f"{message or code}"
        ) from exc
    except openai.APITimeoutError as exc:
        raise ProviderUnavailable(
            "A OpenAI não respondeu a tempo (tempo esgotado). Tente novamente mais tarde."
        ) from exc
    except openai.APIConnectionError as exc:
        raise ProviderUnavailable(
            "Não foi possível conectar à API da OpenAI. Verifique a rede e tente novamente."
        ) from exc
    except openai.InternalServerError as exc:
        raise ProviderUnavailable(
            f"A OpenAI está indisponível no momento (erro {exc.status_code}). Tente novamente "
            "mais tarde."
        ) from exc
    except openai.APIStatusError as exc:
        code, message = _detail(exc)
        cls = ProviderUnavailable if exc.status_code >= 500 else FileRejected
        raise cls(f"A OpenAI respondeu com erro {exc.status_code}: {message or code}") from exc
    except openai.OpenAIError as exc:
        raise ProviderUnavailable(f"Falha ao falar com a OpenAI: {exc}") from exc
