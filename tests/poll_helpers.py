"""An in-test provider implementing the FineTuningProvider protocol, and job fixtures."""
from __future__ import annotations

import threading
from collections import defaultdict
from decimal import Decimal

from core.clientes.directory import create_cliente
from core.db import session_scope
from core.db.tables import FineTuningJob
from core.finetune.provider import ProviderJob
from tests.conftest import REDIS_TEST_URL


class ScriptedProvider:
    """Answers get_job from a script: per provider job id, a list of states or exceptions
    consumed in order (the last one repeats)."""

    name = "openai"

    def __init__(self, script: dict[str, list] | None = None):
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.calls: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        self.before_answer = None  # optional hook(job_id) run before answering

    def get_job(self, job_id: str) -> ProviderJob:
        with self.lock:
            self.calls[job_id] += 1
            steps = self.script[job_id]
            item = steps.pop(0) if len(steps) > 1 else steps[0]
        if self.before_answer:
            self.before_answer(job_id)
        if isinstance(item, BaseException):
            raise item
        return item

    def upload_file(self, path):  # pragma: no cover - not used by the poller
        raise NotImplementedError

    def create_job(self, **kwargs):  # pragma: no cover
        raise NotImplementedError

    def cancel_job(self, job_id):  # pragma: no cover
        raise NotImplementedError


def running(job_id: str, progress: int | None = None) -> ProviderJob:
    return ProviderJob(id=job_id, status="running", progress=progress)


def succeeded(job_id: str, model: str | None = None, tokens: int = 120_000) -> ProviderJob:
    return ProviderJob(id=job_id, status="succeeded", trained_tokens=tokens,
                       fine_tuned_model=model or f"ft:gpt-4.1-mini-2025-04-14:org:{job_id}:abc")


def failed(job_id: str, message: str = "Training file has too few examples.") -> ProviderJob:
    return ProviderJob(id=job_id, status="failed", error_message=message)


def make_cliente(engine, slug: str, redis_prefix: str | None = None):
    """A cliente whose Redis is the test Redis under the test's own prefix."""
    with session_scope(engine) as session:
        cliente = create_cliente(session, slug, slug.title(),
                                 redis_url=REDIS_TEST_URL if redis_prefix else None,
                                 redis_prefix=redis_prefix or "")
        return cliente.id


def make_job(engine, cliente_id: int, provider_job_id: str, status: str = "pending") -> int:
    with session_scope(engine) as session:
        job = FineTuningJob(cliente_id=cliente_id, openai_job_id=provider_job_id, status=status,
                            modelo_base="gpt-4.1-mini-2025-04-14", conversas_usadas=80,
                            tokens_estimados=100_000, custo_estimado_usd=Decimal("0.50"),
                            custo_estimado=Decimal("2.75"), epocas=3)
        session.add(job)
        session.flush()
        return job.id
