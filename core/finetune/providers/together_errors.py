"""Together SDK exceptions -> `ProviderError` subclasses with pt-BR messages.

Every call the Together provider makes goes through `call`, as the OpenAI provider does.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx
import together
from together.lib import DownloadError, FileTypeError

from core.finetune.provider import (
    FileRejected,
    FineTuningRefused,
    InvalidApiKey,
    JobNotFound,
    ModelRetired,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)

T = TypeVar("T")


class CreditsExhausted(FineTuningRefused):
    """The Together account has no credits left (402)."""



def detail(exc: together.APIStatusError) -> tuple[str, str, str]:
    """(code, message, param) from Together's error envelope, or its RPC-style body."""
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            details = err.get("details")
            message = err.get("message")
            if isinstance(details, list) and details and isinstance(details[0], dict):
                message = details[0].get("detail") or message
            return (str(err.get("code") or ""), str(message or exc.message),
                    str(err.get("param") or ""))
        return "", str(err), ""
    return "", str(body or exc.message), ""


def call(fn: Callable[[], T], *, modelo: str | None = None, job_id: str | None = None) -> T:
    """Run one SDK call and turn its exceptions into ProviderError with pt-BR messages."""
    try:
        return fn()
    except ProviderError:
        raise
    except together.AuthenticationError as exc:
        raise InvalidApiKey(
            "A Together AI recusou a chave da API (inválida, revogada ou sem créditos de "
            "teste). Confira TOGETHER_API_KEY."
        ) from exc
    except together.PermissionDeniedError as exc:
        raise FineTuningRefused(
            "A Together AI recusou o fine-tuning para esta conta (sem permissão). Detalhe do "
            f"provedor: {detail(exc)[1]}"
        ) from exc
    except together.NotFoundError as exc:
        if job_id:
            raise JobNotFound(f"O job {job_id} não foi encontrado na Together AI.") from exc
        if modelo:
            raise ModelRetired(
                f"O modelo base {modelo} não está disponível para fine-tuning na Together AI "
                f"(foi retirado ou não existe). Detalhe do provedor: {detail(exc)[1]}"
            ) from exc
        raise JobNotFound("O recurso pedido não foi encontrado na Together AI.") from exc
    except together.RateLimitError as exc:
        raise RateLimited(
            "A Together AI limitou as requisições (limite de uso atingido). Tente novamente "
            "em alguns minutos."
        ) from exc
    except (together.BadRequestError, together.UnprocessableEntityError) as exc:
        code, message, param = detail(exc)
        if modelo and ("model" in param or "model" in code or "model" in message.lower()):
            raise ModelRetired(
                f"O modelo base {modelo} não está disponível para fine-tuning na Together AI. "
                f"Detalhe do provedor: {message}"
            ) from exc
        raise FileRejected(
            f"A Together AI recusou o pedido de fine-tuning. Detalhe do provedor: {message}"
        ) from exc
    except together.APITimeoutError as exc:
        raise ProviderUnavailable(
            "A Together AI não respondeu a tempo (tempo esgotado). Tente novamente mais tarde."
        ) from exc
    except together.APIConnectionError as exc:
        raise ProviderUnavailable(
            "Não foi possível conectar à API da Together AI. Verifique a rede e tente "
            "novamente."
        ) from exc
    except together.InternalServerError as exc:
        raise ProviderUnavailable(
            f"A Together AI está indisponível no momento (erro {exc.status_code}). Tente "
            "novamente mais tarde."
        ) from exc
    except together.APIStatusError as exc:
        message = detail(exc)[1]
        if exc.status_code == 402:
            raise CreditsExhausted(
                "A conta da Together AI está sem créditos (limite de gasto atingido). "
                f"Adicione créditos e tente de novo. Detalhe do provedor: {message}"
            ) from exc
        if exc.status_code >= 500 or exc.request.method == "PUT":
            raise ProviderUnavailable(
                f"O envio para a Together AI falhou (erro {exc.status_code}). Tente novamente "
                "mais tarde."
            ) from exc
        raise ProviderError(
            f"A Together AI respondeu com erro {exc.status_code}: {message}"
        ) from exc
    except FileTypeError as exc:
        raise FileRejected(f"A Together AI não aceita este arquivo: {exc}") from exc
    except (DownloadError, httpx.HTTPError) as exc:
        raise ProviderUnavailable(
            "A transferência com a Together AI foi interrompida. Tente novamente mais tarde."
        ) from exc
    except together.TogetherError as exc:
        raise ProviderUnavailable(f"Falha ao falar com a Together AI: {exc}") from exc
