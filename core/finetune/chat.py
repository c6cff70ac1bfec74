"""Ask a chat model on any OpenAI-compatible endpoint (OpenAI, the team's vLLM, ...).

One answer per call, through the official SDK: the SDK retries on its own
(`CURADORIA_OPENAI_MAX_RETRIES`), and transient failures that outlast it (429, 5xx,
timeouts, refused connections) are retried here with a backoff that honours the
endpoint's Retry-After. What still fails becomes an `EndpointError` with a pt-BR message
that names the model and the endpoint.
"""
from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from core.formato import plural
from core.config import Settings
from core.errors import CuradoriaError

# Answers of a WhatsApp bot are short; the cap keeps a runaway model from costing much.
MAX_RESPOSTA_TOKENS = 1024
MAX_ESPERA_SEGUNDOS = 120.0  # longest Retry-After honoured (the SDK's own limit too)

TRANSIENT = (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError,
             openai.InternalServerError)


@dataclass(frozen=True)
class Endpoint:
    """A model on an OpenAI-compatible endpoint; the key is never shown nor stored."""

    model: str
    base_url: str | None = None  # None: OPENAI_BASE_URL, else the OpenAI API itself
    api_key: str | None = field(default=None, repr=False)

    def where(self, settings: Settings) -> str:
        """The base URL used, as stored and shown ('' for the OpenAI API)."""
        return self.base_url or settings.openai_base_url or ""


@dataclass(frozen=True)
class ChatAnswer:
    content: str
    tokens_entrada: int
    tokens_saida: int
    ms: int


class EndpointError(CuradoriaError):
    """An endpoint did not answer a model's question; `transient` when retrying later may help."""

    def __init__(self, mensagem: str, transient: bool = False):
        super().__init__(mensagem)
        self.transient = transient


def make_client(endpoint: Endpoint, settings: Settings) -> openai.OpenAI:
    """An SDK client for the endpoint (its own key, else OPENAI_API_KEY)."""
    key = endpoint.api_key
    if not key and settings.openai_api_key is not None:
        key = settings.openai_api_key.get_secret_value()
    if not (key or "").strip():
        raise EndpointError(f"Nenhuma chave de API para o modelo {endpoint.model} "
                            f"{_places(endpoint, settings)[1]}: informe a chave do endpoint "
                            "ou defina OPENAI_API_KEY.")
    return openai.OpenAI(api_key=key.strip(), base_url=endpoint.where(settings) or None,
                         timeout=settings.avaliacao_timeout_seconds,
                         max_retries=settings.openai_max_retries)


def ask(client: openai.OpenAI, endpoint: Endpoint, messages: list[dict[str, str]],
        settings: Settings, *, response_format: dict[str, Any] | None = None,
        sleep: Callable[[float], None] = time.sleep) -> ChatAnswer:
    """The model's answer to `messages` (temperature 0: the same question, the same answer)."""
    extra = {"response_format": response_format} if response_format else {}
    attempts = settings.avaliacao_max_tentativas
    for attempt in range(attempts):
        started = time.perf_counter()
        try:
            response = client.chat.completions.create(
                model=endpoint.model, messages=messages, temperature=0,
                max_completion_tokens=MAX_RESPOSTA_TOKENS, **extra)
        except TRANSIENT as exc:
            if attempt == attempts - 1:
                raise _endpoint_error(exc, endpoint, settings, attempts) from exc
            sleep(retry_wait(exc, attempt, settings.avaliacao_backoff_seconds))
            continue
        except openai.OpenAIError as exc:
            raise _endpoint_error(exc, endpoint, settings, attempt + 1) from exc
        return _to_answer(response, int((time.perf_counter() - started) * 1000))
    raise AssertionError("unreachable")


def retry_wait(exc: BaseException, attempt: int, base: float) -> float:
    """Seconds before the next try: the endpoint's Retry-After(-ms), else base x 2^attempt."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    server = _seconds(headers.get("retry-after-ms"), 1000) or _seconds(headers.get("retry-after"))
    if server is not None:
        return min(server, MAX_ESPERA_SEGUNDOS)
    return min(60.0, base * 2 ** attempt)


def _seconds(value: str | None, per_second: int = 1) -> float | None:
    """A Retry-After value (seconds, milliseconds or an HTTP date) in seconds, or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value) / per_second)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _to_answer(response: Any, ms: int) -> ChatAnswer:
    choice = response.choices[0] if response.choices else None
    content = (choice.message.content if choice is not None else None) or ""
    usage = getattr(response, "usage", None)
    return ChatAnswer(content=content.strip(),
                      tokens_entrada=int(getattr(usage, "prompt_tokens", 0) or 0),
                      tokens_saida=int(getattr(usage, "completion_tokens", 0) or 0), ms=ms)


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error", body)
    message = err.get("message") if isinstance(err, dict) else None
    return str(message or exc.message or "")


def _endpoint_error(exc: openai.OpenAIError, endpoint: Endpoint, settings: Settings,
                    attempts: int) -> EndpointError:
    """The pt-BR message for an SDK error, naming the model and where it was asked."""
    model = endpoint.model
    quem, onde, para = _places(endpoint, settings)
    if isinstance(exc, openai.AuthenticationError):
        return EndpointError(f"{quem} recusou a chave de API usada para o modelo {model} "
                             "(chave inválida ou revogada).")
    if isinstance(exc, openai.PermissionDeniedError):
        return EndpointError(f"{quem} negou acesso ao modelo {model}: {_detail(exc)}")
    if isinstance(exc, openai.NotFoundError):
        return EndpointError(f"O modelo {model} não foi encontrado {onde} (nome errado, ou o "
                             "modelo / adaptador não está carregado).")
    if isinstance(exc, openai.RateLimitError):
        return EndpointError(f"{quem} continuou limitando as requisições (erro 429) ao modelo "
                             f"{model} depois de {plural(attempts, 'tentativa')}. Tente mais tarde.",
                             transient=True)
    if isinstance(exc, openai.APITimeoutError):
        return EndpointError(f"O modelo {model} {onde} não respondeu a tempo "
                             f"({settings.avaliacao_timeout_seconds:g} s) em "
                             f"{plural(attempts, 'tentativa')}.", transient=True)
    if isinstance(exc, openai.APIConnectionError):
        return EndpointError(f"Não foi possível conectar {para} para perguntar ao modelo "
                             f"{model}.", transient=True)
    if isinstance(exc, openai.APIStatusError):
        transient = exc.status_code >= 500
        depois = f" depois de {plural(attempts, 'tentativa')}" if transient else ""
        return EndpointError(f"{quem} respondeu com erro {exc.status_code} ao modelo {model}"
                             f"{depois}: {_detail(exc)}", transient=transient)
    return EndpointError(f"Falha ao perguntar ao modelo {model} {onde}: {exc}")


def _places(endpoint: Endpoint, settings: Settings) -> tuple[str, str, str]:
    """How pt-BR names the endpoint as a subject, a place and a destination."""
    where = endpoint.where(settings)
    if where:
        return f"O endpoint {where}", f"no endpoint {where}", f"ao endpoint {where}"
    return "A API da OpenAI", "na API da OpenAI", "à API da OpenAI"
