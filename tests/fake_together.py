"""A local HTTP server that behaves like Together AI's API, as the `together` SDK 3.1.x uses it.

Tests run the real SDK against it (TOGETHER_BASE_URL=http://127.0.0.1:PORT, without /v1).
The wire protocol follows the SDK's source (together/lib/resources/files.py,
together/resources/fine_tuning.py, together/_base_client.py):

- upload: POST /v1/files as multipart/form-data with the fields purpose, file_name,
  file_type and checksum (sha256) and no file part; the answer is a 302 with `Location`
  (a presigned PUT target, here on this same server, no Authorization needed) and
  `X-Together-File-Id`. The SDK then PUTs the raw bytes there (Content-Length set, no
  redirects followed by httpx itself; it must answer exactly 200) and POSTs
  /v1/files/{id}/preprocess, which answers the FileResponse. Validation then runs on the
  server: `processing_status` goes PENDING -> RUNNING -> COMPLETED (or INVALID_FORMAT with
  `validation_report.error`) on successive GET /v1/files/{id}.
- jobs: `fine_tuning.create` first GETs /v1/fine-tunes/models/limits?model_name=M, then
  POSTs /v1/fine-tunes/estimate-price, then POSTs /v1/fine-tunes (JSON FinetuneRequest).
  GET /v1/fine-tunes lists {"data": [...]}, GET /v1/fine-tunes/{id} retrieves, GET
  /v1/fine-tunes/{id}/events answers {"data": [events, oldest first]} whose step events
  carry `step` / `total_steps`, POST /v1/fine-tunes/{id}/cancel cancels.
- weights: GET /v1/finetune/download?ft_id=ID&checkpoint=adapter answers the adapter as a
  .tar.zst (Content-Disposition, Content-Length, Range requests answered 206 with
  Content-Range as the SDK's DownloadManager expects); optionally through a 302 to a
  storage URL on this server.
- errors: {"error": {"message", "type", "param", "code"}}, the envelope the SDK's CLI parses.

Tests move a job through Together's statuses (pending, queued, running, compressing,
uploading, cancel_requested, cancelled, error, completed), add step events, choose the
adapter archive (valid, corrupt, wrong base, path traversal, ...) and inject faults per
route (`fail`): 401, 402, 403, 404, 400, 429 with retry-after, 500/503, a slow answer, a
request that is never processed ("timeout"), a processed request whose answer is lost
("lost_response"), a dropped connection ("drop").

Routes (names used by `fail` and `route_calls`):
    files.create      POST /v1/files
    files.put         PUT  /_storage/uploads/{id}
    files.preprocess  POST /v1/files/{id}/preprocess
    files.retrieve    GET  /v1/files/{id}
    files.list        GET  /v1/files
    limits            GET  /v1/fine-tunes/models/limits
    estimate          POST /v1/fine-tunes/estimate-price
    jobs.create       POST /v1/fine-tunes
    jobs.list         GET  /v1/fine-tunes
    jobs.retrieve     GET  /v1/fine-tunes/{id}
    jobs.events       GET  /v1/fine-tunes/{id}/events
    jobs.cancel       POST /v1/fine-tunes/{id}/cancel
    download          GET  /v1/finetune/download
    blob              GET  /_storage/adapters/{id}
"""
from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import hashlib
import io
import json
import math
import re
import struct
import tarfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import zstandard

FAKE_TOGETHER_KEY = "tgp_v1_fake-curadoria-key"
FAKE_USER = "curadoria-team"
DROP = -1  # status meaning "close the connection without answering"

# Base models the fake accepts for fine-tuning, with their LoRA limits.
DEFAULT_MODELS: dict[str, dict[str, Any]] = {
    "Qwen/Qwen3.5-9B": {"default_rank": 64, "max_rank": 64, "max_batch_size": 32,
                        "price_per_m": 0.48},
    "Qwen/Qwen3-8B": {"default_rank": 64, "max_rank": 64, "max_batch_size": 32,
                      "price_per_m": 0.48},
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference": {
        "default_rank": 64, "max_rank": 64, "max_batch_size": 32, "price_per_m": 0.48},
}

ERRORS: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {
    "invalid_key": (401, {"message": "Invalid API key provided. You can find your API key "
                          "at https://api.together.ai/settings/api-keys.",
                          "type": "invalid_request_error", "param": None,
                          "code": "invalid_api_key"}, {}),
    "payment": (402, {"message": "Credit limit exceeded. Please add credits to your account.",
                      "type": "credit_limit", "param": None, "code": None}, {}),
    "permission": (403, {"message": "You do not have permission to create fine-tuning jobs "
                         "for this project.", "type": "permission_error", "param": None,
                         "code": "forbidden"}, {}),
    "not_found": (404, {"message": "Resource not found", "type": "invalid_request_error",
                        "param": None, "code": "not_found"}, {}),
    "bad_request": (400, {"message": "Invalid request", "type": "invalid_request_error",
                          "param": None, "code": None}, {}),
    "rate_limit": (429, {"message": "Rate limit exceeded. Please try again later.",
                         "type": "rate_limit_error", "param": None,
                         "code": "rate_limit_exceeded"}, {"retry-after": "1"}),
    "server_error": (500, {"message": "Internal server error", "type": "server_error",
                           "param": None, "code": None}, {}),
    "unavailable": (503, {"message": "The server is overloaded, please try again later.",
                          "type": "server_error", "param": None, "code": None}, {}),
}

TERMINAL = {"completed", "cancelled", "error", "user_error"}
_STATUS_EVENTS = {
    "pending": ("job_pending", "Fine-tuning job is pending"),
    "queued": ("job_pending", "Fine-tuning job is queued"),
    "running": ("job_start", "Fine-tuning job started"),
    "compressing": ("model_compressing", "Compressing output model"),
    "uploading": ("model_uploading", "Uploading output model"),
    "cancel_requested": ("cancel_requested", "Cancel requested"),
    "cancelled": ("job_stopped", "Fine-tuning job was cancelled"),
    "completed": ("job_complete", "Fine-tuning job finished successfully"),
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
    mode: str = "error"  # error | slow | timeout | lost_response | drop


@dataclass
class FakeTogether:
    """The server's state; every public method is thread-safe."""

    api_key: str = FAKE_TOGETHER_KEY
    models: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_MODELS.items()})
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    file_bytes: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    archives: dict[str, bytes] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (route, path)
    bodies: dict[str, list[Any]] = field(default_factory=dict)  # route -> request bodies
    injected: list[Injected] = field(default_factory=list)
    # Statuses a file passes through, one per GET /v1/files/{id}, after preprocess.
    processing_steps: list[str] = field(default_factory=lambda: ["RUNNING", "COMPLETED"])
    invalid_reason: str | None = None  # force INVALID_FORMAT with this reason
    estimation_unavailable: str | None = None  # e.g. "train_file_not_validated"
    user_limit: float = 100.0
    download_redirect: bool = False  # answer the download with a 302 to storage
    dedupe_by_checksum: bool = False  # 409 {"file_id"} for an already uploaded checksum

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._upload_tokens: dict[str, str] = {}
        self._processing: dict[str, list[str]] = {}

    # --- lifecycle ---------------------------------------------------------------
    def start(self) -> FakeTogether:
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
        """What TOGETHER_BASE_URL is set to: the host, without /v1."""
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- scripting ---------------------------------------------------------------
    def fail(self, route: str, kind: str | None = None, *, times: int = 1,
             status: int | None = None, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, delay: float = 0.0) -> None:
        """Answer the next `times` calls of `route` ("*" = any) with a fault.

        `kind` is one of ERRORS' keys, or "slow" (answer normally after `delay` s),
        "timeout" (wait `delay` s, then close without doing anything), "lost_response"
        (do the work, then wait `delay` s before answering), "drop" (close at once);
        or give `status` / `body` / `headers` yourself.
        """
        if kind in ("slow", "timeout", "lost_response", "drop"):
            inj = Injected(route, 0, None, {}, times, delay or (0 if kind == "drop" else 3.0),
                           mode=kind)
        else:
            if kind is not None:
                st, err, hdr = ERRORS[kind]
                status = status or st
                body = body or {"error": dict(err)}
                headers = {**hdr, **(headers or {})}
            assert status is not None, "give a kind or a status"
            inj = Injected(route, status, body, headers or {}, times, delay)
        with self.lock:
            self.injected.append(inj)

    def route_calls(self, route: str) -> int:
        with self.lock:
            return sum(1 for r, _ in self.calls if r == route)

    def last_body(self, route: str) -> Any:
        with self.lock:
            return self.bodies[route][-1]

    def uploaded(self, file_id: str) -> bytes:
        with self.lock:
            return self.file_bytes[file_id]

    def only_job(self) -> dict[str, Any]:
        with self.lock:
            assert len(self.jobs) == 1, f"expected one job, found {len(self.jobs)}"
            return next(iter(self.jobs.values()))

    def add_event(self, job_id: str, message: str, *, type_: str, level: str = "info",
                  **extra: Any) -> None:
        with self.lock:
            self.events.setdefault(job_id, []).append({
                "object": "fine-tune-event",
                "created_at": _now_iso(),
                "level": level,
                "message": message,
                "type": type_,
                "hash": uuid.uuid4().hex,
                **extra,
            })

    def set_status(self, job_id: str, status: str) -> dict[str, Any]:
        """Move a job to any of Together's statuses (with the event it would log)."""
        with self.lock:
            job = self.jobs[job_id]
            job["status"] = status
            job["updated_at"] = _now_iso()
            if status == "running" and not job.get("started_at"):
                job["started_at"] = _now_iso()
            type_, message = _STATUS_EVENTS.get(status, ("warning", f"Job {status}"))
            self.add_event(job_id, message, type_=type_)
            return job

    def step(self, job_id: str, n: int, total: int, *, seconds_remaining: int | None = None
             ) -> None:
        """Record a training step event (step / total_steps) and make the job running."""
        with self.lock:
            job = self.jobs[job_id]
            if job["status"] != "running":
                self.set_status(job_id, "running")
            if seconds_remaining is not None:
                job["progress"] = {"estimate_available": True,
                                   "seconds_remaining": seconds_remaining}
            self.add_event(job_id, f"Training step {n}/{total}: loss 0.{n % 10}",
                           type_="checkpoint_save" if n == total else "epoch_complete",
                           step=n, total_steps=total)

    def complete(self, job_id: str, *, archive: bytes | None = None,
                 token_count: int = 123_456) -> dict[str, Any]:
        """Finish a job; its adapter weights become downloadable."""
        with self.lock:
            job = self.jobs[job_id]
            job["token_count"] = token_count
            job["total_price"] = int(token_count / 1e6 * 0.48 * 1e9)  # nano-dollars
            self.archives[job_id] = archive if archive is not None else adapter_archive(
                job["model"])
            return self.set_status(job_id, "completed")

    def fail_job(self, job_id: str, message: str = "Training failed: CUDA out of memory",
                 *, status: str = "error") -> dict[str, Any]:
        with self.lock:
            job = self.set_status(job_id, status)
            self.add_event(job_id, message, type_="job_error", level="error")
            return job

    # --- request handling -----------------------------------------------------------
    def _take_injected(self, route: str) -> Injected | None:
        with self.lock:
            for inj in self.injected:
                if inj.route in (route, "*") and inj.times > 0:
                    inj.times -= 1
                    if inj.times == 0:
                        self.injected.remove(inj)
                    return inj
        return None

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes
               ) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        route, args = _route(method, path)
        with self.lock:
            self.calls.append((route, path))
        if route == "unknown":
            return _error(404, f"Unknown path {method} {path}", "invalid_request_error")
        inj = self._take_injected(route)
        if inj is not None:
            if inj.mode == "drop":
                return DROP, b"", {}
            if inj.mode == "timeout":
                time.sleep(inj.delay)
                return DROP, b"", {}
            if inj.mode == "lost_response":
                result = self._dispatch(route, args, query, headers, body)
                time.sleep(inj.delay)
                return result
            time.sleep(inj.delay)
            if inj.mode == "error":
                return inj.status, inj.body or {}, dict(inj.headers)
        return self._dispatch(route, args, query, headers, body)

    def _dispatch(self, route, args, query, headers, body):
        if not route.startswith(("files.put", "blob")):
            if headers.get("Authorization") != f"Bearer {self.api_key}":
                st, err, hdr = ERRORS["invalid_key"]
                return st, {"error": err}, dict(hdr)
        return getattr(self, "_" + route.replace(".", "_"))(args, query, headers, body)

    # files ---------------------------------------------------------------------------
    def _files_create(self, args, query, headers, body):
        fields, files = _parse_multipart(headers.get("Content-Type", ""), body)
        with self.lock:
            self.bodies.setdefault("files.create", []).append(fields)
        if files:
            return _error(400, "Unexpected file part: upload the bytes to the returned URL",
                          "invalid_request_error")
        for name in ("purpose", "file_name", "file_type", "checksum"):
            if not fields.get(name):
                return _error(400, f"Missing field: {name}", "invalid_request_error", name)
        if fields["purpose"] not in ("fine-tune", "eval", "batch-api"):
            return _error(400, f"Invalid purpose: {fields['purpose']}",
                          "invalid_request_error", "purpose")
        if self.dedupe_by_checksum:
            with self.lock:
                same = [f for f in self.files.values()
                        if f.get("_checksum") == fields["checksum"]]
            if same:
                return 409, {"file_id": same[0]["id"]}, {"x-should-retry": "false"}
        file_id = f"file-{uuid.uuid4()}"
        token = uuid.uuid4().hex
        with self.lock:
            self.files[file_id] = {
                "id": file_id, "object": "file", "bytes": 0,
                "created_at": int(time.time()), "filename": fields["file_name"],
                "FileType": fields["file_type"], "purpose": fields["purpose"],
                "processing_status": None, "_checksum": fields["checksum"],
                "_uploaded": False,
            }
            self._upload_tokens[file_id] = token
        location = f"{self.base_url}/_storage/uploads/{file_id}?X-Signature={token}"
        return 302, b"", {"Location": location, "X-Together-File-Id": file_id}

    def _files_put(self, args, query, headers, body):
        file_id = args["id"]
        with self.lock:
            expected = self._upload_tokens.get(file_id)
            meta = self.files.get(file_id)
        if expected is None or meta is None or query.get("X-Signature") != expected:
            return 403, b"<Error><Code>AccessDenied</Code></Error>", {
                "Content-Type": "application/xml"}
        if hashlib.sha256(body).hexdigest() != meta["_checksum"]:
            return 400, b"<Error><Code>BadDigest</Code></Error>", {
                "Content-Type": "application/xml"}
        with self.lock:
            self.file_bytes[file_id] = body
            meta["bytes"] = len(body)
            meta["_uploaded"] = True
        return 200, b"", {"ETag": f'"{hashlib.md5(body).hexdigest()}"'}

    def _files_preprocess(self, args, query, headers, body):
        file_id = args["id"]
        with self.lock:
            meta = self.files.get(file_id)
            if meta is None or not meta["_uploaded"]:
                return _error(404, f"File {file_id} not found", "invalid_request_error",
                              "id", "file_not_found")
            meta["processing_status"] = "PENDING"
            self._processing[file_id] = list(self.processing_steps)
        return 200, _public(meta), {}

    def _files_retrieve(self, args, query, headers, body):
        file_id = args["id"]
        with self.lock:
            meta = self.files.get(file_id)
            if meta is None:
                return _error(404, f"File {file_id} not found", "invalid_request_error",
                              "id", "file_not_found")
            steps = self._processing.get(file_id)
            if steps:
                status = steps.pop(0)
                if status == "COMPLETED":
                    self._finish_validation(meta)
                else:
                    meta["processing_status"] = status
        return 200, _public(meta), {}

    def _finish_validation(self, meta: dict[str, Any]) -> None:
        data = self.file_bytes.get(meta["id"], b"")
        reason = self.invalid_reason or _validate_dataset(data)
        nlines = len([ln for ln in data.splitlines() if ln.strip()])
        if reason:
            meta["processing_status"] = "INVALID_FORMAT"
            meta["validation_report"] = {"valid": False, "error": reason,
                                         "error_type": "INVALID_FORMAT",
                                         "file_id": meta["id"], "nlines": nlines}
        else:
            meta["processing_status"] = "COMPLETED"
            meta["validation_report"] = {"valid": True, "dataset_format": _dataset_format(data),
                                         "file_id": meta["id"], "nlines": nlines,
                                         "dataset_has_message_weights": b'"weight"' in data}

    def _files_list(self, args, query, headers, body):
        with self.lock:
            return 200, {"data": [_public(f) for f in self.files.values()]}, {}

    # fine-tuning -------------------------------------------------------------------------
    def _limits(self, args, query, headers, body):
        name = query.get("model_name", "")
        with self.lock:
            model = self.models.get(name)
        if model is None:
            return _error(404, f"Model {name} is not supported for fine-tuning",
                          "invalid_request_error", "model_name", "model_not_supported")
        return 200, _limits_json(name, model), {}

    def _estimate(self, args, query, headers, body):
        req = json.loads(body or b"{}")
        with self.lock:
            self.bodies.setdefault("estimate", []).append(req)
            meta = self.files.get(req.get("training_file") or "")
            model = self.models.get(req.get("model") or "")
        if self.estimation_unavailable:
            return 200, {"estimation_available": False,
                         "unavailable_reason": self.estimation_unavailable}, {}
        if meta is None:
            return _error(404, f"File {req.get('training_file')} not found",
                          "invalid_request_error", "training_file", "file_not_found")
        if meta["processing_status"] != "COMPLETED":
            reason = ("train_file_invalid" if meta["processing_status"] == "INVALID_FORMAT"
                      else "train_file_not_validated")
            return 200, {"estimation_available": False, "unavailable_reason": reason}, {}
        if model is None:
            return _error(400, f"Model {req.get('model')} is not supported for fine-tuning",
                          "invalid_request_error", "model", "model_not_supported")
        tokens = math.ceil(meta["bytes"] / 4) * int(req.get("n_epochs") or 1)
        price = round(tokens / 1e6 * model["price_per_m"], 6)
        return 200, {"estimation_available": True,
                     "allowed_to_proceed": price <= self.user_limit,
                     "estimated_total_price": price,
                     "estimated_train_token_count": float(tokens),
                     "estimated_eval_token_count": 0.0,
                     "user_limit": self.user_limit}, {}

    def _jobs_create(self, args, query, headers, body):
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "Invalid JSON body", "invalid_request_error")
        with self.lock:
            self.bodies.setdefault("jobs.create", []).append(req)
        model = req.get("model")
        with self.lock:
            limits = self.models.get(model or "")
        if limits is None:
            return _error(400, f"Model {model} is not supported for fine-tuning",
                          "invalid_request_error", "model", "model_not_supported")
        for key in ("training_file", "validation_file"):
            fid = req.get(key)
            if key == "validation_file" and not fid:
                continue
            with self.lock:
                meta = self.files.get(fid or "")
            if meta is None:
                return _error(400, f"File {fid} not found", "invalid_request_error", key,
                              "file_not_found")
            if meta["processing_status"] != "COMPLETED":
                return _error(400, f"File {fid} has not passed validation "
                              f"(status {meta['processing_status']})",
                              "invalid_request_error", key, "invalid_file")
            method = (req.get("training_method") or {}).get("method", "sft")
            wanted = "PREFERENCE_OPENAI" if method == "dpo" else "CONVERSATION"
            with self.lock:
                found = _dataset_format(self.file_bytes.get(fid, b""))
            if found != wanted:
                return _error(400, f"Training method {method} needs a {wanted} dataset; "
                              f"file {fid} is {found}", "invalid_request_error", key,
                              "invalid_file")
        suffix = req.get("suffix")
        if suffix is not None and (len(suffix) > 40 or not re.fullmatch(r"[\w.-]+", suffix)):
            return _error(400, "suffix must be at most 40 characters: letters, digits, "
                          "'-', '_' or '.'", "invalid_request_error", "suffix")
        training_type = req.get("training_type") or {"type": "Lora",
                                                     "lora_r": limits["default_rank"],
                                                     "lora_alpha": limits["default_rank"] * 2}
        job_id = f"ft-{uuid.uuid4()}"
        base_name = model.split("/")[-1]
        output = f"{FAKE_USER}/{base_name}-{suffix + '-' if suffix else ''}{job_id[3:11]}"
        now = _now_iso()
        job = {
            "id": job_id, "object": "finetune", "status": "pending", "user_id": "user-fake",
            "created_at": now, "updated_at": now, "started_at": None, "model": model,
            "model_output_name": output, "adapter_output_name": f"{output}-adapter",
            "suffix": suffix, "training_file": req.get("training_file"),
            "validation_file": req.get("validation_file") or None,
            "n_epochs": req.get("n_epochs"), "n_evals": req.get("n_evals"),
            "n_checkpoints": req.get("n_checkpoints"), "batch_size": req.get("batch_size"),
            "learning_rate": req.get("learning_rate"), "lr_scheduler": req.get("lr_scheduler"),
            "warmup_ratio": req.get("warmup_ratio"), "max_grad_norm": req.get("max_grad_norm"),
            "weight_decay": req.get("weight_decay"), "training_type": training_type,
            "training_method": req.get("training_method") or {"method": "sft",
                                                              "train_on_inputs": "auto"},
            "token_count": None, "total_price": None, "progress": None, "queue_depth": None,
        }
        with self.lock:
            self.jobs[job_id] = job
            self.add_event(job_id, "Fine tune request created", type_="job_pending")
        return 200, job, {}

    def _jobs_list(self, args, query, headers, body):
        with self.lock:
            data = sorted(self.jobs.values(), key=lambda j: j["created_at"], reverse=True)
        return 200, {"data": data}, {}

    def _jobs_retrieve(self, args, query, headers, body):
        with self.lock:
            job = self.jobs.get(args["id"])
        if job is None:
            return _not_found_job(args["id"])
        return 200, job, {}

    def _jobs_events(self, args, query, headers, body):
        with self.lock:
            if args["id"] not in self.jobs:
                return _not_found_job(args["id"])
            return 200, {"data": list(self.events.get(args["id"], []))}, {}

    def _jobs_cancel(self, args, query, headers, body):
        with self.lock:
            job = self.jobs.get(args["id"])
            if job is None:
                return _not_found_job(args["id"])
            if job["status"] in TERMINAL:
                return _error(400, f"Job {args['id']} cannot be cancelled: it is already "
                              f"{job['status']}", "invalid_request_error")
            new = "cancelled" if job["status"] in ("pending", "queued") else "cancel_requested"
            return 200, self.set_status(args["id"], new), {}

    def _download(self, args, query, headers, body):
        job_id = query.get("ft_id", "")
        with self.lock:
            job = self.jobs.get(job_id)
            archive = self.archives.get(job_id)
        if job is None:
            return _not_found_job(job_id)
        if query.get("checkpoint") not in ("adapter", "merged", "model_output_path", None):
            return _error(400, f"Invalid checkpoint type {query.get('checkpoint')}",
                          "invalid_request_error", "checkpoint")
        if job["status"] != "completed" or archive is None:
            return _error(400, f"Fine-tune job {job_id} has no downloadable checkpoint "
                          f"(status {job['status']})", "invalid_request_error", "ft_id")
        if self.download_redirect:
            return 302, b"", {"Location": f"{self.base_url}/_storage/adapters/{job_id}"}
        return _ranged(archive, headers, f"{job['model_output_name'].split('/')[-1]}"
                       "-adapter.tar.zst")

    def _blob(self, args, query, headers, body):
        with self.lock:
            archive = self.archives.get(args["id"])
        if archive is None:
            return 404, b"<Error><Code>NoSuchKey</Code></Error>", {
                "Content-Type": "application/xml"}
        return _ranged(archive, headers, f"{args['id']}-adapter.tar.zst")


# --- adapter archives ------------------------------------------------------------------
def safetensors_bytes(tensors: dict[str, tuple[int, int]] | None = None) -> bytes:
    """A small but well-formed safetensors file (F32 tensors of the given shapes)."""
    tensors = tensors or {
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": (8, 16),
        "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": (16, 8),
    }
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    data = b""
    for name, (rows, cols) in tensors.items():
        size = rows * cols * 4
        header[name] = {"dtype": "F32", "shape": [rows, cols],
                        "data_offsets": [len(data), len(data) + size]}
        data += struct.pack(f"<{rows * cols}f", *([0.01] * (rows * cols)))
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data


def adapter_files(base_model: str) -> dict[str, bytes]:
    """The files of a PEFT LoRA adapter trained on `base_model`."""
    config = {"base_model_name_or_path": base_model, "peft_type": "LORA",
              "task_type": "CAUSAL_LM", "r": 64, "lora_alpha": 128, "lora_dropout": 0.0,
              "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"], "bias": "none"}
    return {"adapter_config.json": json.dumps(config, indent=2).encode(),
            "adapter_model.safetensors": safetensors_bytes()}


def adapter_archive(base_model: str = "Qwen/Qwen3.5-9B", *, kind: str = "ok",
                    compression: str = "zstd", prefix: str = "") -> bytes:
    """A .tar.zst of an adapter directory, as Together serves it (or a broken one).

    kind: ok | wrong_base | corrupt (not an archive) | truncated | traversal (../ member)
    | absolute (/etc member) | symlink | missing_weights | bad_weights | no_config.
    """
    if kind == "corrupt":
        return b"\x28\xb5\x2f\xfd" + b"this is not a zstd frame at all" * 10
    files = adapter_files("meta-llama/Llama-2-7b-hf" if kind == "wrong_base" else base_model)
    if kind == "missing_weights":
        files.pop("adapter_model.safetensors")
    if kind == "no_config":
        files.pop("adapter_config.json")
    if kind == "bad_weights":
        files["adapter_model.safetensors"] = b"\xff" * 64
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            _add(tar, prefix + name, data)
        if kind == "traversal":
            _add(tar, "../../escaped.txt", b"owned")
        if kind == "absolute":
            _add(tar, "/tmp/curadoria-absolute.txt", b"owned")
        if kind == "symlink":
            link = tarfile.TarInfo(prefix + "link_to_passwd")
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            tar.addfile(link)
    raw = buf.getvalue()
    if compression == "gzip":
        import gzip
        return gzip.compress(raw)
    if compression == "none":
        return raw
    packed = zstandard.ZstdCompressor().compress(raw)
    return packed[: len(packed) // 2] if kind == "truncated" else packed


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


# --- helpers -----------------------------------------------------------------------------
_ROUTES = [
    ("POST", re.compile(r"^/v1/files$"), "files.create"),
    ("GET", re.compile(r"^/v1/files$"), "files.list"),
    ("PUT", re.compile(r"^/_storage/uploads/(?P<id>[^/]+)$"), "files.put"),
    ("POST", re.compile(r"^/v1/files/(?P<id>[^/]+)/preprocess$"), "files.preprocess"),
    ("GET", re.compile(r"^/v1/files/(?P<id>[^/]+)$"), "files.retrieve"),
    ("GET", re.compile(r"^/v1/fine-tunes/models/limits$"), "limits"),
    ("POST", re.compile(r"^/v1/fine-tunes/estimate-price$"), "estimate"),
    ("POST", re.compile(r"^/v1/fine-tunes$"), "jobs.create"),
    ("GET", re.compile(r"^/v1/fine-tunes$"), "jobs.list"),
    ("GET", re.compile(r"^/v1/fine-tunes/(?P<id>[^/]+)/events$"), "jobs.events"),
    ("POST", re.compile(r"^/v1/fine-tunes/(?P<id>[^/]+)/cancel$"), "jobs.cancel"),
    ("GET", re.compile(r"^/v1/fine-tunes/(?P<id>[^/]+)$"), "jobs.retrieve"),
    ("GET", re.compile(r"^/v1/finetune/download$"), "download"),
    ("GET", re.compile(r"^/_storage/adapters/(?P<id>[^/]+)$"), "blob"),
]


def _route(method: str, path: str) -> tuple[str, dict[str, str]]:
    for m, rx, name in _ROUTES:
        match = rx.match(path)
        if m == method and match:
            return name, match.groupdict()
    return "unknown", {}


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _public(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if not k.startswith("_")}


def _error(status: int, message: str, type_: str, param: str | None = None,
           code: str | None = None):
    return status, {"error": {"message": message, "type": type_, "param": param,
                              "code": code}}, {}


def _not_found_job(job_id: str):
    return _error(404, f"Fine-tune job {job_id} not found", "invalid_request_error", "id",
                  "not_found")


def _limits_json(name: str, model: dict[str, Any]) -> dict[str, Any]:
    return {
        "model_name": name, "default_gradient_accumulation_steps": 1,
        "lora_training": {"default_rank": model["default_rank"], "max_rank": model["max_rank"],
                          "max_batch_size": model["max_batch_size"],
                          "max_batch_size_dpo": model["max_batch_size"] // 2,
                          "min_batch_size": 8,
                          "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj",
                                             "gate_proj", "up_proj", "down_proj"]},
        "full_training": {"max_batch_size": 16, "max_batch_size_dpo": 8, "min_batch_size": 8},
        "max_learning_rate": 1.0, "min_learning_rate": 0.0, "max_num_checkpoints": 10,
        "max_num_epochs": 20, "max_num_evals": 100, "max_seq_length_sft": 32768,
        "max_seq_length_dpo": 16384, "min_max_seq_length": 1024, "merge_output_lora": True,
        "supports_full_training": True, "supports_reasoning": True, "supports_tools": True,
        "supports_vision": False,
    }


def _dataset_format(data: bytes) -> str:
    """CONVERSATION, or PREFERENCE_OPENAI when the first line has the preference keys."""
    try:
        first = json.loads(data.splitlines()[0])
    except (ValueError, IndexError):
        return "CONVERSATION"
    return "PREFERENCE_OPENAI" if isinstance(first, dict) and "input" in first else "CONVERSATION"


def _validate_preference(lines: list[str]) -> str | None:
    """Like Together's check of the OpenAI preference format (its SDK's former
    validate_preference_openai): input.messages alternating and not ending on the
    assistant, exactly one assistant message in each output."""
    for n, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except ValueError:
            return f"Line {n}: invalid JSON"
        if not isinstance(obj, dict) or set(obj) - {"input", "preferred_output",
                                                     "non_preferred_output"}:
            return f"Line {n}: unexpected columns for the preference format"
        messages = (obj.get("input") or {}).get("messages") if isinstance(obj.get("input"), dict) else None
        if not isinstance(messages, list) or not messages:
            return f"Line {n}: the `input` dictionary must contain a non-empty `messages` field"
        previous = None
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") \
                    or not isinstance(m.get("content"), str):
                return f"Line {n}: invalid message in input"
            if m["role"] == previous:
                return f"Line {n}: user and assistant roles must alternate"
            previous = m["role"]
        if messages[-1]["role"] == "assistant":
            return f"Line {n}: the last message in the input must not be from the assistant"
        for key in ("preferred_output", "non_preferred_output"):
            out = obj.get(key)
            if not isinstance(out, list) or len(out) != 1 or not isinstance(out[0], dict) \
                    or out[0].get("role") != "assistant" or not isinstance(out[0].get("content"), str):
                return f"Line {n}: `{key}` must contain exactly one assistant message"
    return None


def _validate_dataset(data: bytes) -> str | None:
    """Like Together's server-side check of a conversational (or preference) dataset."""
    try:
        lines = [ln for ln in data.decode("utf-8").splitlines() if ln.strip()]
    except UnicodeDecodeError:
        return "File is not UTF-8 encoded"
    if _dataset_format(data) == "PREFERENCE_OPENAI":
        return _validate_preference(lines)
    for n, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except ValueError:
            return f"Line {n}: invalid JSON"
        messages = obj.get("messages") if isinstance(obj, dict) else None
        if not isinstance(messages, list) or not messages:
            return (f"Line {n}: the dataset format could not be detected: expected a "
                    "'messages' list (conversational format)")
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in ("system", "user",
                                                                "assistant", "tool"):
                return f"Line {n}: invalid role in messages"
        if not any(m.get("role") == "assistant" for m in messages):
            return f"Line {n}: no assistant message to train on"
    return None


def _ranged(data: bytes, headers: Any, filename: str):
    """Serve bytes, honouring a `Range: bytes=a-b` request like object storage does."""
    extra = {"Content-Type": "application/octet-stream",
             "Content-Disposition": f'attachment; filename="{filename}"',
             "Accept-Ranges": "bytes"}
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", headers.get("Range") or "")
    if not match:
        return 200, data, extra
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else len(data) - 1
    end = min(end, len(data) - 1)
    extra["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
    return 206, data[start:end + 1], extra


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


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if (handler.headers.get("Transfer-Encoding") or "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _make_handler(fake: FakeTogether) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _serve(self, method: str) -> None:
            body = _read_body(self)
            status, payload, extra = fake.handle(method, self.path, self.headers, body)
            if status == DROP:
                self.close_connection = True
                return
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
                self.send_header("x-request-id", uuid.uuid4().hex)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # client gave up
                pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler
