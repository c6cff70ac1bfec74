"""A local HTTP server that behaves like vLLM's OpenAI-compatible server with runtime LoRA.

Tests point the real `openai` SDK at it (base URL http://127.0.0.1:PORT/v1), as
core.finetune.vllm does with CURADORIA_VLLM_URL. What it mimics (vLLM's
entrypoints/openai serving_models and api_server, started with --enable-lora and
VLLM_ALLOW_RUNTIME_LORA_UPDATING=True):

- GET /v1/models lists the base model (root = its path) and every loaded adapter
  (root = lora_path, parent = the base model);
- POST /v1/load_lora_adapter {"lora_name","lora_path"}: 200 with a plain-text body
  "Success: LoRA adapter 'NAME' added successfully."; 400 InvalidUserInput when a field is
  missing or the name is already loaded ("... has already been loaded."); 404 NotFoundError
  ("No adapter found for PATH") when the folder does not exist; 400 BadRequestError when
  the folder lacks adapter_config.json / adapter_model.safetensors or the adapter was
  trained on another base model;
- POST /v1/unload_lora_adapter {"lora_name"}: 200 text, or 404 ("... cannot be found.");
- POST /v1/chat/completions answers as `model` (the base or a loaded adapter) with the
  configured answer; an unknown model is a 404 ("The model `X` does not exist.");
- errors are {"error": {"message","type","param","code"}}; with `api_key` set, a request
  without the Bearer key gets 401 {"error": "Unauthorized"}; with `runtime_lora=False` the
  two adapter routes do not exist (FastAPI's 404 {"detail": "Not Found"}).

Faults: `fail(route, kind)` with kind in ERRORS ("load_refused" 400, "server_error" 500,
"unavailable" 503) or "slow" / "drop"; `down = True` drops every connection unanswered;
`answers[name] = ""` makes an adapter answer empty. Routes: models, load, unload, chat.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DEFAULT_ANSWER = "Olá! Fazemos entregas sim, de segunda a sábado, das 8h às 18h."

ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "load_refused": (400, {"message": "Loading lora failed: CUDA out of memory while "
                           "allocating the adapter slot", "type": "BadRequestError",
                           "param": None, "code": 400}),
    "server_error": (500, {"message": "Internal Server Error", "type": "InternalServerError",
                           "param": None, "code": 500}),
    "unavailable": (503, {"message": "The engine is overloaded", "type": "ServiceUnavailable",
                          "param": None, "code": 503}),
}


@dataclass
class FakeVllm:
    """The server's state; every public method is thread-safe."""

    base_model: str = "Qwen/Qwen3.5-9B"
    base_path: str = "/models/Qwen3.5-9B"
    api_key: str | None = None
    runtime_lora: bool = True
    check_base: bool = True
    down: bool = False
    default_answer: str = DEFAULT_ANSWER
    answers: dict[str, str] = field(default_factory=dict)
    adapters: dict[str, str] = field(default_factory=dict)  # name -> lora_path
    calls: list[tuple[str, str]] = field(default_factory=list)
    chat_requests: list[dict[str, Any]] = field(default_factory=list)
    injected: list[list[Any]] = field(default_factory=list)  # [route, kind, times, delay]

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeVllm:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def fail(self, route: str, kind: str, *, times: int = 1, delay: float = 3.0) -> None:
        with self.lock:
            self.injected.append([route, kind, times, delay])

    def route_calls(self, route: str) -> int:
        with self.lock:
            return sum(1 for r, _ in self.calls if r == route)

    def _take(self, route: str) -> list[Any] | None:
        with self.lock:
            for inj in self.injected:
                if inj[0] in (route, "*") and inj[2] > 0:
                    inj[2] -= 1
                    if inj[2] == 0:
                        self.injected.remove(inj)
                    return inj
        return None

    # --- request handling -----------------------------------------------------------
    def handle(self, method: str, path: str, headers: Any, body: bytes
               ) -> tuple[int, Any, str]:
        path = path.split("?", 1)[0].rstrip("/")
        route = {("GET", "/v1/models"): "models",
                 ("POST", "/v1/load_lora_adapter"): "load",
                 ("POST", "/v1/unload_lora_adapter"): "unload",
                 ("POST", "/v1/chat/completions"): "chat"}.get((method, path), "unknown")
        with self.lock:
            self.calls.append((route, path))
            down = self.down
        if down:
            return -1, None, ""
        if self.api_key and headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {"error": "Unauthorized"}, "json"
        if route == "unknown" or (route in ("load", "unload") and not self.runtime_lora):
            return 404, {"detail": "Not Found"}, "json"
        inj = self._take(route)
        if inj is not None:
            kind, delay = inj[1], inj[3]
            if kind == "drop":
                return -1, None, ""
            if kind == "slow":
                time.sleep(delay)
            else:
                status, err = ERRORS[kind]
                return status, {"error": dict(err)}, "json"
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "Invalid JSON", "BadRequestError")
        return getattr(self, f"_{route}")(req)

    def _models(self, req: dict[str, Any]):
        now = int(time.time())
        data = [{"id": self.base_model, "object": "model", "created": now, "owned_by": "vllm",
                 "root": self.base_path, "parent": None, "max_model_len": 32768,
                 "permission": [_permission()]}]
        with self.lock:
            for name, path in self.adapters.items():
                data.append({"id": name, "object": "model", "created": now,
                             "owned_by": "vllm", "root": path, "parent": self.base_model,
                             "max_model_len": None, "permission": [_permission()]})
        return 200, {"object": "list", "data": data}, "json"

    def _load(self, req: dict[str, Any]):
        name, path = req.get("lora_name"), req.get("lora_path")
        if not name or not path:
            return _error(400, "Both 'lora_name' and 'lora_path' must be provided.",
                          "InvalidUserInput")
        with self.lock:
            if name in self.adapters:
                return _error(400, f"The lora adapter '{name}' has already been loaded.",
                              "InvalidUserInput")
        problem = self._adapter_problem(Path(path))
        if problem:
            return problem
        with self.lock:
            self.adapters[name] = path
        return 200, f"Success: LoRA adapter '{name}' added successfully.", "text"

    def _adapter_problem(self, path: Path):
        if not path.is_dir():
            return _error(404, f"No adapter found for {path}", "NotFoundError")
        config_path = path / "adapter_config.json"
        if not config_path.is_file():
            return _error(400, f"Loading lora {path} failed: No adapter_config.json found",
                          "BadRequestError")
        if not (path / "adapter_model.safetensors").is_file():
            return _error(400, f"Loading lora {path} failed: {path} doesn't contain "
                          "tensors", "BadRequestError")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except ValueError:
            return _error(400, f"Loading lora {path} failed: invalid adapter_config.json",
                          "BadRequestError")
        base = str(config.get("base_model_name_or_path") or "")
        if self.check_base and base.split("/")[-1].lower() != \
                self.base_model.split("/")[-1].lower():
            return _error(400, f"Loading lora {path} failed: the adapter was trained for "
                          f"{base}, shapes do not match {self.base_model}", "BadRequestError")
        return None

    def _unload(self, req: dict[str, Any]):
        name = req.get("lora_name")
        if not name:
            return _error(400, "either 'lora_name' and 'lora_int_id' needs to be provided.",
                          "InvalidUserInput")
        with self.lock:
            if name not in self.adapters:
                return _error(404, f"The lora adapter '{name}' cannot be found.",
                              "NotFoundError")
            del self.adapters[name]
        return 200, f"Success: LoRA adapter '{name}' removed successfully.", "text"

    def _chat(self, req: dict[str, Any]):
        model = req.get("model")
        with self.lock:
            known = model == self.base_model or model in self.adapters
            self.chat_requests.append(req)
            answer = self.answers.get(model, self.default_answer)
        if not known:
            return 404, {"error": {"message": f"The model `{model}` does not exist.",
                                   "type": "NotFoundError", "param": "model",
                                   "code": 404}}, "json"
        prompt_tokens = sum(len(str(m.get("content", "")).split())
                            for m in req.get("messages", []))
        completion_tokens = len(answer.split())
        return 200, {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer,
                                                 "reasoning_content": None, "tool_calls": []},
                         "logprobs": None, "finish_reason": "stop", "stop_reason": None}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
            "prompt_logprobs": None,
        }, "json"


def _permission() -> dict[str, Any]:
    return {"id": f"modelperm-{uuid.uuid4().hex}", "object": "model_permission",
            "created": int(time.time()), "allow_create_engine": False,
            "allow_sampling": True, "allow_logprobs": True, "allow_search_indices": False,
            "allow_view": True, "allow_fine_tuning": False, "organization": "*",
            "group": None, "is_blocking": False}


def _error(status: int, message: str, type_: str):
    return status, {"error": {"message": message, "type": type_, "param": None,
                              "code": status}}, "json"


def _make_handler(fake: FakeVllm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload, kind = fake.handle(method, self.path, self.headers, body)
            if status == -1:
                self.close_connection = True
                return
            if kind == "text":
                data, ctype = str(payload).encode(), "text/plain; charset=utf-8"
            else:
                data, ctype = json.dumps(payload).encode(), "application/json"
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler

