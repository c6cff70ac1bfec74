"""The Together AI fine-tuning provider: LoRA SFT on open models, weights for our own vLLM.

Together trains a LoRA adapter on an open base model (e.g. `Qwen/Qwen3.5-9B`) from the
same chat JSONL we send OpenAI, and serves fine-tunes only on paid dedicated endpoints, so
the adapter's weights are downloaded and served from the team's vLLM instead.

How start / follow / deploy use it:

1. start: `provider = get_together_provider()`; `file_id = provider.upload_file(path)`
   (the SDK's own `check_file` first, then the upload, then a wait until Together has
   validated the file); `provider.estimate_price(training_file=file_id, model=base)` for
   the confirm dialog (US$ and R$); `job = provider.create_job(training_file=file_id,
   validation_file=None, model=base, suffix=cliente.slug, metadata={})`. Store `job.id`
   at once; a start resumed after a crash calls `provider.find_job(...)` before creating.
2. follow: `provider.get_job(job_id)` -> `job.seed_status` (Together's statuses mapped by
   `TogetherJob`), `job.progress` (from step / total_steps events), `job.error_message`.
3. deploy, once succeeded: core.finetune.rollout calls `provider.prepare_model(request)`
   (core.finetune.open_deploy: `download_adapter` into CURADORIA_ADAPTERS_DIR/<slug>/<job>/,
   streamed, safely unpacked, files checked, same base model; then vLLM's `load_adapter`
   under `adapter_name(slug, job)` and a `smoke_test`); the model in use becomes that
   name at `settings.vllm_url_bot`.

Every SDK exception becomes a `ProviderError` subclass with a pt-BR message, as in
`openai_provider.py`.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import together
from together.lib import check_file

from core.config import Settings, get_settings
from core.finetune.adapters import (  # noqa: F401 - re-exported for callers and tests
    MAX_UNPACKED_BYTES,
    AdapterInvalid,
    adapter_root,
    extract_archive,
    verify_adapter_dir,
)
from core.finetune.provider import (
    FileRejected,
    MissingApiKey,
    ProviderError,
    ProviderJob,
    ProviderUnavailable,
    RateLimited,
    retry_after,
)
from core.finetune.providers.together_errors import (  # noqa: F401 - re-exported
    CreditsExhausted,
    call as _call,
    detail as _detail,
)

DEFAULT_EPOCHS = 3
MAX_ARCHIVE_BYTES = 8 * 1024**3  # a LoRA adapter is MBs to a few GBs
_CENT = Decimal("0.01")

# Together's job status -> the seed's status values.
TOGETHER_STATUS_MAP = {
    "pending": "pending",
    "queued": "pending",
    "running": "running",
    "compressing": "running",
    "uploading": "running",
    "cancel_requested": "running",
    "completed": "succeeded",
    "error": "failed",
    "user_error": "failed",
    "cancelled": "cancelled",
}
TERMINAL = frozenset({"completed", "error", "user_error", "cancelled"})
_WITH_EVENTS = frozenset({"running", "compressing", "uploading", "cancel_requested", "error",
                          "user_error"})

_UNAVAILABLE_REASONS = {
    "train_file_not_validated": "o arquivo de treinamento ainda está sendo validado",
    "eval_file_not_validated": "o arquivo de validação ainda está sendo validado",
    "train_file_invalid": "o arquivo de treinamento foi recusado na validação",
    "eval_file_invalid": "o arquivo de validação foi recusado na validação",
    "multimodal_dataset": "a Together não estima o preço de dados com imagens",
}


class AdapterNotReady(ProviderError):
    """The job has no downloadable adapter (yet)."""

    transient = True


@dataclass(frozen=True)
class TogetherJob(ProviderJob):
    """A `ProviderJob` whose raw status is one of Together's."""

    @property
    def seed_status(self) -> str:
        return TOGETHER_STATUS_MAP.get(self.status.lower(), "running")


@dataclass(frozen=True)
class PriceEstimate:
    """Together's own estimate of a job's price, for the confirm dialog."""

    usd: Decimal | None
    brl: Decimal | None
    train_tokens: int | None = None
    allowed_to_proceed: bool | None = None  # False: above the account's credit limit
    user_limit_usd: Decimal | None = None
    motivo_indisponivel: str | None = None  # pt-BR, when Together gives no estimate

    @property
    def available(self) -> bool:
        return self.usd is not None


# Training methods (core.finetune.registry.supported_methods): LoRA SFT and DPO.
METODOS = ("sft", "dpo")


class TogetherProvider:
    """`FineTuningProvider` backed by Together AI's files and fine-tunes API."""

    name = "together"

    def __init__(self, client: together.Together, *, cambio_usd_brl: Decimal = Decimal("5.40"),
                 poll_interval: float = 2.0, processing_timeout: float = 900.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.client = client
        self.cambio_usd_brl = Decimal(cambio_usd_brl)
        self.poll_interval = poll_interval
        self.processing_timeout = processing_timeout
        self.sleep = sleep

    # --- files -----------------------------------------------------------------------
    def upload_file(self, path: Path) -> str:
        """Check, upload and wait for Together's validation; the file id."""
        path = Path(path)
        report = check_file(path, purpose="fine-tune")
        if not report.get("is_check_passed"):
            raise FileRejected(
                "O arquivo de treinamento não passou na verificação do SDK da Together: "
                f"{report.get('message') or 'formato inválido'}"
            )
        uploaded = _call(lambda: self.client.files.upload(file=path, purpose="fine-tune",
                                                          check=False))
        self.wait_until_validated(uploaded.id)
        return uploaded.id

    def wait_until_validated(self, file_id: str) -> None:
        """Return once Together has validated the file; FileRejected when it is invalid."""
        deadline = time.monotonic() + self.processing_timeout
        while True:
            info = _call(lambda: self.client.files.retrieve(file_id))
            status = (info.processing_status or "PENDING").upper()
            if status == "COMPLETED":
                return
            if status == "INVALID_FORMAT":
                report = info.validation_report
                reason = (getattr(report, "error", None) or "formato inválido") if report \
                    else "formato inválido"
                raise FileRejected(
                    f"A Together AI recusou o arquivo de treinamento na validação: {reason}"
                )
            if status == "FAILED":
                raise ProviderUnavailable(
                    "A Together AI não conseguiu validar o arquivo de treinamento (falha do "
                    "lado dela). Tente novamente mais tarde."
                )
            if time.monotonic() >= deadline:
                raise ProviderUnavailable(
                    f"A Together AI ainda está validando o arquivo {file_id}. Tente "
                    "novamente em alguns minutos."
                )
            self.sleep(self.poll_interval)

    # --- price -----------------------------------------------------------------------
    def estimate_price(self, *, training_file: str, model: str,
                       validation_file: str | None = None,
                       n_epochs: int = DEFAULT_EPOCHS, metodo: str = "sft") -> PriceEstimate:
        """Together's estimate for a LoRA SFT (or DPO) job on this file, in US$ and R$."""
        kwargs: dict[str, Any] = {
            "training_file": training_file, "model": model, "n_epochs": n_epochs,
            "n_evals": 0, "training_method": ({"method": "dpo"} if metodo == "dpo" else
                                              {"method": "sft", "train_on_inputs": "auto"}),
        }
        if validation_file:
            kwargs["validation_file"] = validation_file
        est = _call(lambda: self.client.fine_tuning.estimate_price(**kwargs), modelo=model)
        if getattr(est, "estimation_available", None) is False:
            reason = str(getattr(est, "unavailable_reason", "") or "")
            return PriceEstimate(usd=None, brl=None, motivo_indisponivel=(
                "A Together AI não estimou o preço: "
                f"{_UNAVAILABLE_REASONS.get(reason, reason or 'motivo não informado')}."))
        usd = _money(getattr(est, "estimated_total_price", None))
        tokens = getattr(est, "estimated_train_token_count", None)
        limit = getattr(est, "user_limit", None)
        return PriceEstimate(
            usd=usd,
            brl=(usd * self.cambio_usd_brl).quantize(_CENT, ROUND_HALF_UP) if usd is not None
            else None,
            train_tokens=int(tokens) if tokens is not None else None,
            allowed_to_proceed=getattr(est, "allowed_to_proceed", None),
            user_limit_usd=_money(limit),
        )

    # --- jobs ------------------------------------------------------------------------
    def create_job(self, *, training_file: str, validation_file: str | None, model: str,
                   suffix: str, metadata: dict[str, str],
                   n_epochs: int = DEFAULT_EPOCHS, metodo: str = "sft") -> TogetherJob:
        """Start a LoRA SFT (or, metodo="dpo", DPO) job on `model`; never two for one call
        (metadata is unused)."""
        suffix = clean_suffix(suffix)
        limits = _call(lambda: self.client.fine_tuning.model_limits(model_name=model),
                       modelo=model)
        epochs = max(1, min(int(n_epochs), int(getattr(limits, "max_num_epochs", 0) or 20)))
        kwargs: dict[str, Any] = {
            "training_file": training_file, "validation_file": validation_file or "",
            "model": model, "n_epochs": epochs, "lora": True, "suffix": suffix,
            "training_method": "sft", "train_on_inputs": "auto", "model_limits": limits,
        }
        if metodo == "dpo":  # the SDK refuses train_on_inputs outside SFT
            kwargs.update(training_method="dpo", train_on_inputs=None)
        # The SDK's own retries are off for this call: POST /v1/fine-tunes takes no
        # idempotency key, so a blind retry after a lost answer could start a second paid
        # job. After a timeout or a dropped connection the job is looked up first; a 429
        # or 5xx answer means nothing was created and is retried here.
        client = self.client.with_options(max_retries=0)
        attempts = self.client.max_retries + 1
        for attempt in range(attempts):
            try:
                return _to_job(_call(lambda: client.fine_tuning.create(**kwargs), modelo=model))
            except (RateLimited, ProviderUnavailable) as exc:
                cause = exc.__cause__
                if isinstance(cause, together.APIConnectionError):  # timeouts included
                    found = self.find_job(training_file=training_file, suffix=suffix,
                                          model=model)
                    if found is not None:
                        return found
                if attempt == attempts - 1:
                    raise type(exc)(
                        f"{exc} Se um job tiver sido criado mesmo assim, ele aparece na lista "
                        f"de fine-tunings da Together com o sufixo {suffix} e o arquivo "
                        f"{training_file}."
                    ) from cause
                self.sleep(retry_after(cause, attempt))
        raise AssertionError("unreachable")

    def find_job(self, *, training_file: str, suffix: str, model: str) -> TogetherJob | None:
        """The newest job on this training file (the create worked, its answer was lost)."""
        try:
            page = _call(lambda: self.client.fine_tuning.list())
        except ProviderError:
            return None
        suffix = clean_suffix(suffix)
        matches = [job for job in page.data
                   if job.training_file == training_file and job.model == model
                   and (not job.suffix or job.suffix == suffix)]
        if not matches:
            return None
        return _to_job(max(matches, key=lambda j: str(j.created_at or "")))

    def get_job(self, job_id: str) -> TogetherJob:
        job = _call(lambda: self.client.fine_tuning.retrieve(job_id), job_id=job_id)
        status = str(job.status or "pending").lower()
        progress, error = None, None
        if status in _WITH_EVENTS:
            events = _call(lambda: self.client.fine_tuning.list_events(job_id),
                           job_id=job_id).data
            progress = progress_from_events(events)
            if status in ("error", "user_error"):
                error = error_from_events(events)
        if status == "completed":
            progress = 100
        return _to_job(job, progress=progress, error_message=error)

    def cancel_job(self, job_id: str) -> TogetherJob:
        try:
            job = _call(lambda: self.client.fine_tuning.cancel(job_id), job_id=job_id)
        except ProviderError as exc:
            if isinstance(exc.__cause__, together.BadRequestError):
                current = self.get_job(job_id)  # already finished: nothing to cancel
                if current.status in TERMINAL:
                    return current
            raise
        return _to_job(job)

    # --- adapter weights ---------------------------------------------------------------
    def prepare_model(self, request: Any) -> Any:
        """A succeeded job's adapter, downloaded, loaded into the team's vLLM and tested:
        the Candidate core.finetune.rollout applies (see core.finetune.open_deploy)."""
        from core.finetune.open_deploy import prepare_adapter

        return prepare_adapter(self, request)

    def download_adapter(self, job_id: str, dest_dir: Path, *, base_model: str | None = None,
                         max_archive_bytes: int = MAX_ARCHIVE_BYTES,
                         max_unpacked_bytes: int = MAX_UNPACKED_BYTES) -> Path:
        """Download, unpack and verify the job's LoRA adapter into `dest_dir`; its path.

        A `dest_dir` that already holds a valid adapter is kept (a retry after a crash).
        """
        dest_dir = Path(dest_dir)
        if base_model is None:
            base_model = self.get_job(job_id).model
        if dest_dir.exists():
            try:
                verify_adapter_dir(dest_dir, base_model)
                return dest_dir
            except AdapterInvalid:
                shutil.rmtree(dest_dir)
        dest_dir.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".{dest_dir.name}.", dir=dest_dir.parent) as tmp:
            archive = Path(tmp) / "adapter.tar.zst"
            self._fetch_adapter(job_id, archive, max_archive_bytes)
            staging = Path(tmp) / "unpacked"
            extract_archive(archive, staging, max_unpacked_bytes)
            root = adapter_root(staging)
            verify_adapter_dir(root, base_model)
            try:
                os.replace(root, dest_dir)
            except OSError:
                if not dest_dir.is_dir():  # else another process finished first
                    raise
                verify_adapter_dir(dest_dir, base_model)
        return dest_dir

    def _fetch_adapter(self, job_id: str, archive: Path, max_bytes: int) -> None:
        """Stream checkpoint=adapter to `archive`, refusing more than `max_bytes`."""
        def fetch() -> None:
            with self.client.fine_tuning.with_streaming_response.content(
                    ft_id=job_id, checkpoint="adapter") as response, open(archive, "wb") as fh:
                total = 0
                for chunk in response.iter_bytes(1024 * 1024):
                    total += len(chunk)
                    if total > max_bytes:
                        raise AdapterInvalid(
                            f"O adaptador do job {job_id} passou de {max_bytes // 1024**2} MB "
                            "no download; ele foi descartado."
                        )
                    fh.write(chunk)

        try:
            _call(fetch, job_id=job_id)
        except ProviderError as exc:
            if isinstance(exc.__cause__, together.BadRequestError):
                raise AdapterNotReady(
                    f"A Together AI ainda não entrega os pesos do adaptador do job {job_id} "
                    f"(o job terminou?). Detalhe do provedor: {_detail(exc.__cause__)[1]}"
                ) from exc.__cause__
            raise


# --- progress and errors -----------------------------------------------------------------
def progress_from_events(events: Iterable[Any]) -> int | None:
    """Per cent done from the newest event carrying step / total_steps."""
    best: tuple[tuple[str, int], int, int] | None = None
    for index, event in enumerate(events):
        step, total = _field(event, "step"), _field(event, "total_steps")
        if step is None or not total:
            continue
        key = (str(_field(event, "created_at") or ""), index)
        if best is None or key >= best[0]:
            best = (key, int(step), int(total))
    if best is None:
        return None
    return max(0, min(100, best[1] * 100 // best[2]))


def error_from_events(events: Iterable[Any]) -> str:
    """The newest error event's message (Together's job object carries none)."""
    message = None
    for event in events:
        if str(_field(event, "level") or "").lower() == "error" or \
                str(_field(event, "type") or "") in ("job_error", "job_user_error"):
            message = _field(event, "message") or message
    return message or "A Together AI marcou o job como erro sem informar o motivo."


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _to_job(job: Any, *, progress: int | None = None,
            error_message: str | None = None) -> TogetherJob:
    status = str(job.status or "pending").lower()
    output = getattr(job, "x_model_output_name", None) or getattr(job, "output_name", None)
    return TogetherJob(
        id=job.id,
        status=status,
        model=getattr(job, "model", None),
        fine_tuned_model=output,
        trained_tokens=getattr(job, "token_count", None) if status == "completed" else None,
        error_message=error_message,
        progress=progress,
        estimated_finish=_finish(getattr(job, "progress", None)),
        training_file=getattr(job, "training_file", None),
        validation_file=getattr(job, "validation_file", None) or None,
        metadata={"suffix": job.suffix} if getattr(job, "suffix", None) else {},
    )


def _finish(progress: Any) -> dt.datetime | None:
    if progress is None or not getattr(progress, "estimate_available", False):
        return None
    seconds = getattr(progress, "seconds_remaining", None) or 0
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now + dt.timedelta(seconds=float(seconds))


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(_CENT, ROUND_HALF_UP)


def clean_suffix(suffix: str) -> str:
    """Together's suffix: up to 40 characters; lower-case letters, digits and dashes."""
    text = unicodedata.normalize("NFKD", suffix or "").encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:40].strip("-") or "curadoria"


# --- configuration -------------------------------------------------------------------------
MISSING_KEY = ("Nenhuma chave da API da Together AI configurada. Defina a variável de "
               "ambiente TOGETHER_API_KEY e reinicie o painel para treinar modelos abertos.")


def missing_key_message(settings: Settings | None = None) -> str:
    """The pt-BR reason a Together job cannot start for lack of a key, or ''."""
    settings = settings or get_settings()
    key = settings.together_api_key.get_secret_value() if settings.together_api_key else ""
    return "" if key.strip() else MISSING_KEY


def base_models(settings: Settings | None = None) -> list[str]:
    """The base models offered for LoRA on Together (CURADORIA_MODELOS_BASE_TOGETHER)."""
    settings = settings or get_settings()
    return [m.strip() for m in settings.modelos_base_together.split(",") if m.strip()]


def get_together_provider(settings: Settings | None = None, *, timeout: float = 60.0,
                          max_retries: int = 2, **options: Any) -> TogetherProvider:
    """The Together provider; MissingApiKey when TOGETHER_API_KEY is not set."""
    settings = settings or get_settings()
    if missing_key_message(settings):
        raise MissingApiKey(MISSING_KEY)
    # The SDK's paths start with /v1: a base URL copied with it would double it.
    base_url = re.sub(r"/v1/?$", "", (settings.together_base_url or "").strip()) or None
    client = together.Together(
        api_key=settings.together_api_key.get_secret_value().strip(),
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
    )
    return TogetherProvider(client, cambio_usd_brl=settings.cambio_usd_brl, **options)



def configuration_problem(settings: Settings | None = None) -> str:
    """The pt-BR reason a Together job cannot start (no API key), or '' when it can."""
    return missing_key_message(settings)


def create_provider(settings: Settings | None = None) -> TogetherProvider:
    """The Together provider (ask core.finetune.registry for it)."""
    return get_together_provider(settings)

