"""docker-compose.yml runs the poller as its own service next to the dashboard."""
from __future__ import annotations

import re
from pathlib import Path

COMPOSE = (Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text()


def _service(name: str) -> str:
    match = re.search(rf"^  {name}:\n((?:    .*\n|\n)+)", COMPOSE, re.M)
    assert match, f"service {name} missing"
    return match.group(1)


def test_the_poller_is_its_own_service_running_poller_py_with_a_restart_policy():
    poller = _service("poller")
    # exec form, no shell: python is PID 1 and gets SIGTERM itself
    assert 'command: ["python", "poller.py"]' in poller and "restart: unless-stopped" in poller
    assert "DATABASE_URL" in COMPOSE and "<<: *env" in poller
    assert "poller.py" not in _service("dashboard")


def test_the_vllm_service_runs_only_with_the_gpu_profile_and_sees_the_poller_s_adapters():
    vllm = _service("vllm")
    assert 'profiles: ["gpu"]' in vllm and "image: vllm/vllm-openai" in vllm
    assert '"--enable-lora"' in vllm and 'VLLM_ALLOW_RUNTIME_LORA_UPDATING: "True"' in vllm
    # the same volume at the same path: the path the poller loads is the path vLLM reads
    assert "- adapters:/app/data/adapters" in vllm
    assert "- adapters:/app/data/adapters" in _service("poller")
    assert "CURADORIA_ADAPTERS_DIR: /app/data/adapters" in COMPOSE
