"""A local HTTP server that behaves like the OpenAI API for files and fine-tuning jobs.

Tests run the real `openai` SDK against it (OPENAI_BASE_URL=http://127.0.0.1:PORT/v1).
It keeps uploaded bytes for inspection, lets a test move a job through its states
(validating_files -> queued -> running with "Step N/M" events -> succeeded / failed /
cancelled), and can answer the next N calls of a route with an injected error
(401, 403, 400, 404, 429 with retry-after, 500/503, or a slow answer for timeouts).

Routes (names used by `fail` and `calls`):
    files.create      POST /v1/files                      (multipart: file, purpose)
    files.retrieve    GET  /v1/files/{id}
    files.content     GET  /v1/files/{id}/content
    jobs.create       POST /v1/fine_tuning/jobs
    jobs.list         GET  /v1/fine_tuning/jobs
    jobs.retrieve     GET  /v1/fine_tuning/jobs/{id}
    jobs.events       GET  /v1/fine_tuning/jobs/{id}/events
    jobs.cancel       POST /v1/fine_tuning/jobs/{id}/cancel
    chat.completions  POST /v1/chat/completions           (answers per model: `chat_model`)
    models.list       GET  /v1/models                     (with `shutdown_date` when set)
    models.retrieve   GET  /v1/models/{id}

`shutdown_dates` maps a model id to its "YYYY-MM-DD" shutdown date, as the API reports it;
a fine-tune without a date of its own reports its base model's.

Chat models are scripted per name (`chat_model`): a fixed answer or a function of the
request's messages, the usage it reports, a latency, and "fails hard after N answers".
`fail(..., model=M)` limits an injected error to the calls for one model; `chat_log`
keeps every chat request (model, messages, response_format, HTTP status answered).
"""
from __future__ import annotations

import email.parser
import email.policy
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

FAKE_API_KEY = "sk-test-curadoria-fake"

DEFAULT_MODELS = frozenset({
    "gpt-4o-mini-2024-07-18",
    "gpt-4o-2024-08-06",
    "gpt-4.1-2025-04-14",
    "gpt-4.1-mini-2025-04-14",
})

# Canned error bodies, shaped like the API's: {"error": {message, type, param, code}}.
ERRORS: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {
    "invalid_key": (401, {
        "message": "Incorrect API key provided: sk-****. You can find your API key at "
                   "https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}, {}),
    "permission": (403, {
        "message": "You have insufficient permissions for this operation.",
        "type": "invalid_request_error", "param": None, "code": "insufficient_permissions"}, {}),
    "refusal": (403, {
        "message": "Fine-tuning is no longer available for your organization.",
        "type": "invalid_request_error", "param": None, "code": "fine_tuning_not_available"}, {}),
    "model_not_available": (400, {
        "message": "Model gpt-4o-mini-2024-07-18 is not available for fine-tuning or does "
                   "not exist.",
        "type": "invalid_request_error", "param": "model", "code": "model_not_available"}, {}),
    "invalid_file": (400, {
        "message": "Invalid file format for Fine-Tuning API. Must be .jsonl",
        "type": "invalid_request_error", "param": "training_file", "code": "invalid_file"}, {}),
    "not_found": (404, {
        "message": "Could not find the requested resource.",
        "type": "invalid_request_error", "param": None, "code": "not_found"}, {}),
    "rate_limit": (429, {
        "message": "Rate limit reached for requests. Please try again in 1s.",
        "type": "requests", "param": None, "code": "rate_limit_exceeded"},
        {"retry-after": "1"}),
    "server_error": (500, {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error", "param": None, "code": None}, {}),
    "unavailable": (503, {
        "message": "The engine is currently overloaded, please try again later.",
        "type": "server_error", "param": None, "code": None}, {}),
}


@dataclass
class Injected:
    """An injected answer for the next `times` calls of a route."""

    route: str
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str]
    times: int
    delay: float = 0.0
    after: bool = False  # handle the call normally, then delay the answer (lost response)
    model: str | None = None  # chat.completions only: just the calls for this model


@dataclass
class ChatModel:
    """How one model answers /v1/chat/completions."""

    answer: str | Callable[[list[dict[str, Any]]], str]
    latency: float = 0.0
    usage: Callable[[list[dict[str, Any]], str], dict[str, int]] | None = None
    fail_after: int | None = None  # answer this many times, then 500 on every call
    answered: int = 0


@dataclass
class FakeOpenAI:
    """The server's state; every public method is thread-safe."""

    api_key: str = FAKE_API_KEY
    models: set[str] = field(default_factory=lambda: set(DEFAULT_MODELS))
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    file_bytes: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (route, path)
    injected: list[Injected] = field(default_factory=list)
    create_delay: float = 0.0  # seconds jobs.create waits (widens race windows)
    chat_models: dict[str, ChatModel] = field(default_factory=dict)
    chat_log: list[dict[str, Any]] = field(default_factory=list)
    shutdown_dates: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
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

    # --- scripting -----------------------------------------------------------------
    def fail(self, route: str, kind: str | None = None, *, times: int = 1,
             status: int | None = None, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, delay: float = 0.0,
             model: str | None = None) -> None:
        """Answer the next `times` calls of `route` ("*" = any) with an error.

        `kind` is one of ERRORS' keys, or "slow" (answer normally after `delay`
        seconds, for client timeouts), or "lost_response" (do the work, e.g. create the job,
        then answer after `delay` seconds: the client times out although the call worked);
        or give `status` / `body` / `headers` yourself. `model` limits it to the chat
        calls for that model.
        """
        if kind == "slow":
            inj = Injected(route, 0, None, {}, times, delay or 5.0)
        elif kind == "lost_response":
            inj = Injected(route, 0, None, {}, times, delay or 5.0, after=True)
        else:
            if kind is not None:
                st, err, hdr = ERRORS[kind]
                status = status or st
                body = body or {"error": dict(err)}
                headers = {**hdr, **(headers or {})}
            assert status is not None, "give a kind or a status"
            inj = Injected(route, status, body, headers or {}, times, delay)
        inj.model = model
        with self.lock:
            self.injected.append(inj)

    def clear_failures(self) -> None:
        with self.lock:
            self.injected.clear()

    def route_calls(self, route: str) -> int:
        with self.lock:
            return sum(1 for r, _ in self.calls if r == route)

    def uploaded(self, file_id: str) -> bytes:
        with self.lock:
            return self.file_bytes[file_id]

    def only_job(self) -> dict[str, Any]:
        with self.lock:
            assert len(self.jobs) == 1, f"expected one job, found {len(self.jobs)}"
            return next(iter(self.jobs.values()))

    def add_event(self, job_id: str, message: str, *, level: str = "info",
                  type_: str = "message", data: dict[str, Any] | None = None) -> None:
        with self.lock:
            self.events.setdefault(job_id, []).append({
                "object": "fine_tuning.job.event",
                "id": f"ftevent-{uuid.uuid4().hex[:24]}",
                "created_at": int(time.time()),
                "level": level,
                "message": message,
                "data": data or {},
                "type": type_,
            })

    def set_status(self, job_id: str, status: str) -> dict[str, Any]:
        """Move a job to any raw status (validating_files, queued, running, paused...)."""
        with self.lock:
            job = self.jobs[job_id]
            job["status"] = status
            self.add_event(job_id, {
                "validating_files": "Validating training file",
                "queued": "Files validated, moving job to queued state",
                "running": "Fine-tuning job started",
            }.get(status, f"Job {status}"))
            return job

    def step(self, job_id: str, n: int, total: int, *, estimated_finish: int | None = None
             ) -> None:
        """Record a "Step N/M" metrics event (and make the job running)."""
        with self.lock:
            job = self.jobs[job_id]
            if job["status"] != "running":
                self.set_status(job_id, "running")
            if estimated_finish is not None:
                job["estimated_finish"] = estimated_finish
            self.add_event(job_id, f"Step {n}/{total}: training loss=0.{n % 10}",
                           type_="metrics", data={"step": n, "train_loss": 0.5,
                                                  "total_steps": total})

    def succeed(self, job_id: str, *, fine_tuned_model: str | None = None,
                trained_tokens: int = 123_456) -> dict[str, Any]:
        with self.lock:
            job = self.jobs[job_id]
            suffix = job.get("user_provided_suffix") or "custom"
            job.update({
                "status": "succeeded",
                "fine_tuned_model": fine_tuned_model
                or f"ft:{job['model']}:fake-org:{suffix}:{job_id[-8:]}",
                "trained_tokens": trained_tokens,
                "finished_at": int(time.time()),
                "error": None,
                "result_files": [f"file-result{job_id[-8:]}"],
            })
            self.add_event(job_id, "The job has successfully completed")
            return job

    def fail_job(self, job_id: str, *, code: str = "invalid_training_file",
                 message: str = "The job failed due to an invalid training file.",
                 param: str | None = "training_file") -> dict[str, Any]:
        with self.lock:
            job = self.jobs[job_id]
            job.update({"status": "failed", "finished_at": int(time.time()),
                        "error": {"code": code, "message": message, "param": param}})
            self.add_event(job_id, f"The job failed: {message}", level="error")
            return job

    # --- chat ----------------------------------------------------------------------
    def chat_model(self, name: str, answer: str | Callable[[list[dict[str, Any]]], str], *,
                   latency: float = 0.0, usage: Callable[..., dict[str, int]] | None = None,
                   fail_after: int | None = None) -> ChatModel:
        """Make `name` answer chat completions (replaces an earlier script of that name)."""
        with self.lock:
            self.chat_models[name] = ChatModel(answer, latency, usage, fail_after)
            return self.chat_models[name]

    def chat_requests(self, model: str, *, status: int | None = 200) -> list[dict[str, Any]]:
        """The chat requests for `model` (only those answered with `status`; None = all)."""
        with self.lock:
            return [r for r in self.chat_log
                    if r["model"] == model and (status is None or r["status"] == status)]

    def _chat_completions(self, args, query, headers, body):
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.",
                          "invalid_request_error", None, None)
        model, messages = req.get("model"), req.get("messages") or []
        entry = {"model": model, "messages": messages, "status": 200,
                 "response_format": req.get("response_format")}
        with self.lock:
            self.chat_log.append(entry)
            script = self.chat_models.get(model)
            broken = (script is not None and script.fail_after is not None
                      and script.answered >= script.fail_after)
            if script is not None and not broken:
                script.answered += 1
        if script is None:
            entry["status"] = 404
            return _error(404, f"The model `{model}` does not exist or you do not have access "
                          "to it.", "invalid_request_error", None, "model_not_found")
        if broken:
            entry["status"] = 500
            st, err, hdr = ERRORS["server_error"]
            return st, {"error": dict(err)}, hdr
        if script.latency:
            time.sleep(script.latency)
        content = script.answer(messages) if callable(script.answer) else script.answer
        usage = (script.usage(messages, content) if script.usage
                 else _default_usage(messages, content))
        return 200, {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
            "created": int(time.time()), "model": model, "system_fingerprint": None,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": content,
                                     "refusal": None}}],
            "usage": {**usage, "total_tokens": usage["prompt_tokens"]
                      + usage["completion_tokens"]},
        }, {}

    # --- request handling ---------------------------------------------------------
    def _take_injected(self, route: str, model: str | None = None) -> Injected | None:
        with self.lock:
            for inj in self.injected:
                if (inj.route in (route, "*") and inj.times > 0
                        and inj.model in (None, model)):
                    inj.times -= 1
                    if inj.times == 0:
                        self.injected.remove(inj)
                    return inj
        return None

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes
               ) -> tuple[int, dict[str, Any] | bytes, dict[str, str]]:
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/")
        query = parse_qs(parts.query)
        route, args = _route(method, path)
        with self.lock:
            self.calls.append((route, path))
        if route == "unknown":
            return _error(404, "Invalid URL", "invalid_request_error", None, None)
        inj = self._take_injected(route, _chat_model_of(body) if route == "chat.completions"
                                  else None)
        if inj is not None and inj.after:
            result = self._dispatch(route, args, query, headers, body)
            time.sleep(inj.delay)
            return result
        if inj is not None:
            if inj.delay:
                time.sleep(inj.delay)
            if inj.status:
                if route == "chat.completions":
                    with self.lock:
                        self.chat_log.append({"model": _chat_model_of(body), "messages": None,
                                              "status": inj.status, "response_format": None})
                return inj.status, inj.body or {}, inj.headers
        return self._dispatch(route, args, query, headers, body)

    def _dispatch(self, route, args, query, headers, body):
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            st, err, hdr = ERRORS["invalid_key"]
            return st, {"error": err}, hdr
        return getattr(self, "_" + route.replace(".", "_"))(args, query, headers, body)

    def _files_create(self, args, query, headers, body):
        fields, files = _parse_multipart(headers.get("Content-Type", ""), body)
        if "file" not in files:
            return _error(400, "Missing file", "invalid_request_error", "file", None)
        filename, data = files["file"]
        purpose = fields.get("purpose", "")
        if purpose not in ("fine-tune", "batch", "assistants", "vision", "user_data", "evals"):
            return _error(400, f"Invalid purpose: {purpose}", "invalid_request_error",
                          "purpose", None)
        if purpose == "fine-tune":
            problem = _check_jsonl(data)
            if problem:
                return _error(400, problem, "invalid_request_error", "file", "invalid_file")
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        obj = {"id": file_id, "object": "file", "bytes": len(data),
               "created_at": int(time.time()), "filename": filename, "purpose": purpose,
               "status": "processed", "status_details": None, "expires_at": None}
        with self.lock:
            self.files[file_id] = obj
            self.file_bytes[file_id] = data
        return 200, obj, {}

    def _files_retrieve(self, args, query, headers, body):
        with self.lock:
            obj = self.files.get(args["id"])
        if obj is None:
            return _error(404, f"No such File object: {args['id']}", "invalid_request_error",
                          "id", None)
        return 200, obj, {}

    def _files_content(self, args, query, headers, body):
        with self.lock:
            data = self.file_bytes.get(args["id"])
        if data is None:
            return _error(404, f"No such File object: {args['id']}", "invalid_request_error",
                          "id", None)
        return 200, data, {"Content-Type": "application/octet-stream"}

    def _jobs_create(self, args, query, headers, body):
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.",
                          "invalid_request_error", None, None)
        if self.create_delay:
            time.sleep(self.create_delay)
        model = req.get("model")
        if model not in self.models:
            return _error(400, f"Model {model} is not available for fine-tuning or does not "
                          "exist.", "invalid_request_error", "model", "model_not_available")
        for key in ("training_file", "validation_file"):
            fid = req.get(key)
            if key == "validation_file" and fid is None:
                continue
            with self.lock:
                known = self.files.get(fid or "")
            if known is None or known["purpose"] != "fine-tune":
                return _error(400, f"Invalid file: {fid}", "invalid_request_error", key,
                              "invalid_file")
        suffix = req.get("suffix")
        if suffix is not None and len(suffix) > 64:
            return _error(400, "suffix must be at most 64 characters", "invalid_request_error",
                          "suffix", None)
        metadata = req.get("metadata") or {}
        if len(metadata) > 16 or any(len(str(v)) > 512 for v in metadata.values()):
            return _error(400, "Invalid metadata", "invalid_request_error", "metadata", None)
        method = req.get("method") or {"type": "supervised"}
        with self.lock:
            data = self.file_bytes.get(req.get("training_file") or "", b"")
        problem = _file_method_problem(data, method.get("type", "supervised"))
        if problem:
            return _error(400, problem, "invalid_request_error", "training_file", "invalid_file")
        hyper = {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"}
        user_hyper = (method.get(method.get("type", "supervised")) or {}).get("hyperparameters")
        hyper.update(user_hyper or {})
        job_id = f"ftjob-{uuid.uuid4().hex[:24]}"
        job = {
            "id": job_id, "object": "fine_tuning.job", "created_at": int(time.time()),
            "error": None, "fine_tuned_model": None, "finished_at": None,
            "hyperparameters": hyper, "model": model, "organization_id": "org-fake",
            "result_files": [], "seed": 42, "status": "validating_files",
            "trained_tokens": None, "training_file": req.get("training_file"),
            "validation_file": req.get("validation_file"), "estimated_finish": None,
            "integrations": [], "metadata": metadata or None,
            "method": {"type": method.get("type", "supervised"),
                       method.get("type", "supervised"): {"hyperparameters": hyper}},
            "user_provided_suffix": suffix,
        }
        with self.lock:
            self.jobs[job_id] = job
            self.add_event(job_id, f"Created fine-tuning job: {job_id}")
        return 200, job, {}

    def _jobs_list(self, args, query, headers, body):
        limit = int((query.get("limit") or ["20"])[0])
        with self.lock:
            data = sorted(self.jobs.values(), key=lambda j: j["created_at"], reverse=True)
        return 200, {"object": "list", "data": data[:limit],
                     "has_more": len(data) > limit}, {}

    def _jobs_retrieve(self, args, query, headers, body):
        with self.lock:
            job = self.jobs.get(args["id"])
        if job is None:
            return _not_found_job(args["id"])
        return 200, job, {}

    def _jobs_events(self, args, query, headers, body):
        limit = int((query.get("limit") or ["20"])[0])
        with self.lock:
            if args["id"] not in self.jobs:
                return _not_found_job(args["id"])
            data = list(reversed(self.events.get(args["id"], [])))  # newest first
        return 200, {"object": "list", "data": data[:limit],
                     "has_more": len(data) > limit}, {}

    def _jobs_cancel(self, args, query, headers, body):
        with self.lock:
            job = self.jobs.get(args["id"])
            if job is None:
                return _not_found_job(args["id"])
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return _error(400, f"Job {args['id']} has already completed.",
                              "invalid_request_error", None, None)
            job["status"] = "cancelled"
            job["finished_at"] = int(time.time())
            self.add_event(args["id"], "Job cancelled")
        return 200, job, {}


    # --- models ----------------------------------------------------------------------
    def _model_ids(self) -> list[str]:
        finetunes = [j["fine_tuned_model"] for j in self.jobs.values() if j.get("fine_tuned_model")]
        return sorted({*self.models, *self.chat_models, *finetunes})

    def _model_object(self, model_id: str) -> dict[str, Any]:
        obj = {"id": model_id, "object": "model", "created": 1_700_000_000,
               "owned_by": "user-curadoria" if model_id.startswith("ft:") else "system"}
        base = model_id.split(":")[1] if model_id.startswith("ft:") else model_id
        shutdown = self.shutdown_dates.get(model_id) or self.shutdown_dates.get(base)
        if shutdown:
            obj["shutdown_date"] = shutdown
        return obj

    def _models_list(self, args, query, headers, body):
        with self.lock:
            return 200, {"object": "list",
                         "data": [self._model_object(m) for m in self._model_ids()]}, {}

    def _models_retrieve(self, args, query, headers, body):
        with self.lock:
            args = {"id": unquote(args["id"])}
            if args["id"] not in self._model_ids():
                return _error(404, f"The model '{args['id']}' does not exist",
                              "invalid_request_error", "model", "model_not_found")
            return 200, self._model_object(args["id"]), {}


_ROUTES = [
    ("GET", re.compile(r"^/v1/models$"), "models.list"),
    ("GET", re.compile(r"^/v1/models/(?P<id>.+)$"), "models.retrieve"),
    ("POST", re.compile(r"^/v1/files$"), "files.create"),
    ("GET", re.compile(r"^/v1/files/(?P<id>[^/]+)/content$"), "files.content"),
    ("GET", re.compile(r"^/v1/files/(?P<id>[^/]+)$"), "files.retrieve"),
    ("POST", re.compile(r"^/v1/fine_tuning/jobs$"), "jobs.create"),
    ("GET", re.compile(r"^/v1/fine_tuning/jobs$"), "jobs.list"),
    ("GET", re.compile(r"^/v1/fine_tuning/jobs/(?P<id>[^/]+)/events$"), "jobs.events"),
    ("POST", re.compile(r"^/v1/fine_tuning/jobs/(?P<id>[^/]+)/cancel$"), "jobs.cancel"),
    ("GET", re.compile(r"^/v1/fine_tuning/jobs/(?P<id>[^/]+)$"), "jobs.retrieve"),
    ("POST", re.compile(r"^/v1/chat/completions$"), "chat.completions"),
]


def _route(method: str, path: str) -> tuple[str, dict[str, str]]:
    for m, rx, name in _ROUTES:
        match = rx.match(path)
        if m == method and match:
            return name, match.groupdict()
    return "unknown", {}


def _chat_model_of(body: bytes) -> str | None:
    try:
        return json.loads(body or b"{}").get("model")
    except (ValueError, AttributeError):
        return None


def _default_usage(messages: list[dict[str, Any]], content: str) -> dict[str, int]:
    """About four characters per token, like the API's rule of thumb."""
    prompt = sum(len(str(m.get("content") or "")) for m in messages)
    return {"prompt_tokens": prompt // 4 + 3 * len(messages), "completion_tokens": len(content) // 4 + 1}


def _error(status: int, message: str, type_: str, param: str | None, code: str | None):
    return status, {"error": {"message": message, "type": type_, "param": param,
                              "code": code}}, {}


def _not_found_job(job_id: str):
    return _error(404, f"Could not find fine tune: {job_id}", "invalid_request_error", "id",
                  "fine_tune_not_found")


def _check_jsonl(data: bytes) -> str | None:
    """Like the API's file validation: every line a JSON object with `messages`."""
    try:
        lines = [ln for ln in data.decode("utf-8").splitlines() if ln.strip()]
    except UnicodeDecodeError:
        return "Invalid file format for Fine-Tuning API. Must be .jsonl (UTF-8)"
    if not lines:
        return "Invalid file format for Fine-Tuning API. File is empty"
    for n, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except ValueError:
            return f"Invalid file format for Fine-Tuning API. Line {n} is not valid JSON"
        if not isinstance(obj, dict) or not (isinstance(obj.get("messages"), list)
                                             or _is_preference(obj)):
            return f"Invalid file format for Fine-Tuning API. Line {n} has no messages"
    return None


def _is_preference(obj: dict) -> bool:
    """A preference (DPO) line: input.messages and one assistant message per output."""
    entrada = obj.get("input")
    return (isinstance(entrada, dict) and isinstance(entrada.get("messages"), list)
            and all(isinstance(obj.get(k), list) and len(obj[k]) == 1
                    and (obj[k][0] or {}).get("role") == "assistant"
                    for k in ("preferred_output", "non_preferred_output")))


def _file_method_problem(data: bytes, method: str) -> str | None:
    """The job's method must match its file: DPO trains on preference lines only, the
    supervised method on chat lines only (the API fails the job's file validation)."""
    for n, line in enumerate(ln for ln in data.decode("utf-8").splitlines() if ln.strip()):
        preference = _is_preference(json.loads(line))
        if preference != (method == "dpo"):
            kind = "preference" if method == "dpo" else "chat"
            return (f"Invalid file format for Fine-Tuning API. Line {n + 1} is not in the "
                    f"{kind} format the {method} method expects")
    return None


def _parse_multipart(content_type: str, body: bytes
                     ) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    raw = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if not msg.is_multipart():
        return fields, files
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = (filename, payload)
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files


def _make_handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload, extra = fake.handle(method, self.path, self.headers, body)
            if isinstance(payload, bytes):
                data = payload
                ctype = extra.pop("Content-Type", "application/octet-stream")
            else:
                data = json.dumps(payload).encode()
                ctype = "application/json"
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # client timed out
                pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler
