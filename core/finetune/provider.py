"""The interface every fine-tuning provider implements, and its errors.

Pages, the CLI and the poller only talk to this interface, so a provider with a future
(open models) can be added without touching them. Providers raise `ProviderError`
subclasses whose message is pt-BR and ready to show or to store in `erro`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from core.errors import CuradoriaError

# Provider status (an open string) -> the seed's status values.
STATUS_MAP = {
    "validating_files": "pending",
    "queued": "pending",
    "pending": "pending",
    "running": "running",
    "paused": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
}


def map_status(raw: str | None) -> str:
    """The seed's status for a provider status; unknown values count as still running."""
    return STATUS_MAP.get((raw or "").lower(), "running")


@dataclass(frozen=True)
class ProviderJob:
    """What we need to know about a job at the provider."""

    id: str
    status: str  # the provider's raw status
    model: str | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    error_message: str | None = None
    progress: int | None = None  # per cent, from "Step N/M" events
    estimated_finish: dt.datetime | None = None  # naive UTC
    training_file: str | None = None
    validation_file: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def seed_status(self) -> str:
        return map_status(self.status)


class FineTuningProvider(Protocol):
    """Upload a file, create / read / cancel a job."""

    name: str

    def upload_file(self, path: Path) -> str:
        """Upload a JSONL training file; returns the provider's file id."""

    def create_job(self, *, training_file: str, validation_file: str | None, model: str,
                   suffix: str, metadata: dict[str, str]) -> ProviderJob:
        """Start a supervised fine-tuning job (a provider whose module lists "dpo" in
        METODOS also takes `metodo="dpo"`: a preference job on a preference file)."""

    def get_job(self, job_id: str) -> ProviderJob:
        """The job's current state, with progress from its events."""

    def cancel_job(self, job_id: str) -> ProviderJob:
        """Ask the provider to cancel the job."""


class ProviderError(CuradoriaError):
    """A provider call failed; `transient` says whether retrying later may help."""

    transient = False


class MissingApiKey(ProviderError):
    pass


class InvalidApiKey(ProviderError):
    pass


class FineTuningRefused(ProviderError):
    """The organisation may no longer fine-tune (403 / permission)."""


class ModelRetired(ProviderError):
    pass


class FileRejected(ProviderError):
    pass


class JobNotFound(ProviderError):
    pass


class RateLimited(ProviderError):
    transient = True


class ProviderUnavailable(ProviderError):
    """5xx, timeouts, connection refused."""

    transient = True


def retry_after(exc: BaseException | None, attempt: int) -> float:
    """Seconds to wait before retrying a provider call: the server's retry-after (capped),
    else a short exponential backoff. Shared by every provider's SDK wrapper."""
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    try:
        return min(30.0, max(0.0, float(header)))
    except (TypeError, ValueError):
        return min(8.0, 0.5 * 2 ** attempt)
