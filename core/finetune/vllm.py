"""A small client for the team's vLLM: an OpenAI-compatible server with runtime LoRA.

How deploy is meant to use it, once `TogetherProvider.download_adapter` has unpacked and
verified a finished job's adapter under CURADORIA_ADAPTERS_DIR:

    name = adapter_name(cliente.slug, job.id)       # one name per job: curadoria-loja-job42
    vllm = get_vllm_client()
    vllm.check_base_model(job.modelo_base)          # the adapter only runs on its own base
    vllm.load_adapter(name, path)                   # idempotent: a retry after a crash is fine
    resposta = vllm.smoke_test(name)                # one pt-BR question; empty or error raises

then the model in use becomes `name` at `settings.vllm_url_bot` (the two Redis keys the bot
reads). A rollback only rewrites those keys; `unload_adapter` frees vLLM's slots for
adapters no cliente uses any more. vLLM must run with `--enable-lora` and
`VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`, and see the adapter folder at the same path.

Every failure is a `VllmError` (a `ProviderError`) with a pt-BR message; vLLM being down
or overloaded is `VllmUnavailable`, which is transient.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import openai

from core.config import Settings, get_settings
from core.finetune.provider import ProviderError

T = TypeVar("T")
SMOKE_QUESTION = "Olá! Vocês fazem entrega? Qual é o horário de atendimento?"
_THINK_RE = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)


class VllmError(ProviderError):
    """A call to the team's vLLM failed."""


class VllmNotConfigured(VllmError):
    pass


class VllmUnavailable(VllmError):
    """vLLM is down, unreachable, timed out or overloaded: retrying later may help."""

    transient = True


class VllmAuthError(VllmError):
    pass


class AdapterLoadRefused(VllmError):
    """vLLM would not load the adapter (bad path, bad files, runtime LoRA disabled...)."""


class SmokeTestFailed(VllmError):
    """The adapter did not answer the test question (error or empty answer)."""


@dataclass(frozen=True)
class ServedModel:
    """One entry of vLLM's GET /v1/models: a base model or a loaded adapter."""

    id: str
    root: str | None = None
    parent: str | None = None  # the base model, for a LoRA adapter

    @property
    def is_adapter(self) -> bool:
        return bool(self.parent)


class VllmClient:
    """Load, unload and test LoRA adapters on the team's vLLM."""

    def __init__(self, client: openai.OpenAI):
        self.client = client

    def list_models(self) -> list[ServedModel]:
        """What vLLM serves now: its base model(s) and every loaded adapter."""
        page = _call(lambda: self.client.models.list(), VllmError, "listar os modelos")
        return [ServedModel(id=m.id, root=getattr(m, "root", None),
                            parent=getattr(m, "parent", None)) for m in page.data]

    def served_base_models(self) -> list[str]:
        return [m.id for m in self.list_models() if not m.is_adapter]

    def check_base_model(self, base_model: str) -> None:
        """AdapterLoadRefused unless vLLM serves the base model the adapter was trained on."""
        served = self.served_base_models()
        if not any(same_base_model(s, base_model) for s in served):
            raise AdapterLoadRefused(
                f"O vLLM da equipe serve {', '.join(served) or 'nenhum modelo'}, mas o "
                f"adaptador foi treinado sobre {base_model}: ele só roda no próprio modelo "
                "base."
            )

    def load_adapter(self, name: str, path: str | Path) -> None:
        """Load the adapter at `path` as model `name`; already loaded there counts as done."""
        body = {"lora_name": name, "lora_path": str(path)}
        try:
            _call(lambda: self.client.post("/load_lora_adapter", body=body, cast_to=str),
                  AdapterLoadRefused, f"carregar o adaptador {name}")
        except AdapterLoadRefused:
            if not self._already_loaded(name, str(path)):
                raise

    def _already_loaded(self, name: str, path: str) -> bool:
        """True when vLLM lists `name` from `path` (a retry after a lost answer or a crash)."""
        for model in self.list_models():
            if model.id == name and model.is_adapter:
                if model.root and Path(model.root) != Path(path):
                    raise AdapterLoadRefused(
                        f"O vLLM já tem um adaptador chamado {name}, carregado de outro "
                        f"caminho ({model.root}); use um nome novo para este job."
                    )
                return True
        return False

    def unload_adapter(self, name: str) -> None:
        """Unload `name`; an adapter that is not loaded counts as unloaded."""
        try:
            _call(lambda: self.client.post("/unload_lora_adapter", body={"lora_name": name},
                                           cast_to=str),
                  VllmError, f"descarregar o adaptador {name}")
        except VllmError as exc:
            cause = exc.__cause__
            if not (isinstance(cause, openai.NotFoundError) and _is_vllm_error(cause)):
                raise

    def smoke_test(self, name: str, *, pergunta: str = SMOKE_QUESTION,
                   system_prompt: str | None = None, max_tokens: int = 200) -> str:
        """Ask one question through the adapter; its answer, or SmokeTestFailed."""
        messages: list[dict[str, str]] = []
        if system_prompt:
            messages.append({"role": "system", "content": system_prompt})
        messages.append({"role": "user", "content": pergunta})
        completion = _call(lambda: self.client.chat.completions.create(
            model=name, messages=messages, max_tokens=max_tokens, temperature=0,
            # Qwen3-style templates would otherwise spend the tokens thinking.
            extra_body={"chat_template_kwargs": {"enable_thinking": False}},
        ), SmokeTestFailed, f"testar o adaptador {name}")
        answer = _answer_text(completion)
        if not answer:
            raise SmokeTestFailed(
                f"O adaptador {name} respondeu vazio à pergunta de teste; ele não deve ser "
                "colocado em uso."
            )
        return answer


def adapter_name(slug: str, job_id: int | str) -> str:
    """The vLLM model name of a job's adapter: unique per job, safe in a URL and in Redis."""
    clean = unicodedata.normalize("NFKD", slug or "").encode("ascii", "ignore").decode()
    clean = re.sub(r"[^a-z0-9]+", "-", clean.lower()).strip("-")[:48].strip("-")
    return f"curadoria-{clean or 'cliente'}-job{job_id}"


def same_base_model(a: str | None, b: str | None) -> bool:
    """Whether two names (hub ids, Together ids or local paths) denote the same base model.

    Together trains on ids such as `meta-llama/Meta-Llama-3.1-8B-Instruct-Reference` while
    an adapter config or vLLM may name the hub repo or a local folder of the same weights.
    """
    return bool(a and b) and _model_key(a) == _model_key(b)


def _model_key(name: str) -> str:
    last = name.strip().rstrip("/").split("/")[-1].lower()
    last = re.sub(r"-reference$", "", last)
    return re.sub(r"^meta-llama-", "llama-", last)


def get_vllm_client(settings: Settings | None = None, *, timeout: float = 30.0,
                    max_retries: int = 2) -> VllmClient:
    """The client for CURADORIA_VLLM_URL; VllmNotConfigured when it is not set."""
    settings = settings or get_settings()
    if not (settings.vllm_url or "").strip():
        raise VllmNotConfigured(
            "O vLLM da equipe não está configurado: defina CURADORIA_VLLM_URL (ex.: "
            "http://vllm:8000/v1) para servir os modelos treinados na Together."
        )
    key = settings.vllm_api_key.get_secret_value().strip() if settings.vllm_api_key else ""
    client = openai.OpenAI(api_key=key or "EMPTY", base_url=settings.vllm_url.strip(),
                           timeout=timeout, max_retries=max_retries)
    return VllmClient(client)


def _answer_text(completion: Any) -> str:
    choices = getattr(completion, "choices", None) or []
    if not choices:
        return ""
    content = getattr(choices[0].message, "content", None) or ""
    return _THINK_RE.sub("", content).strip()


def _is_vllm_error(exc: openai.APIStatusError) -> bool:
    """vLLM's own error envelope, as opposed to the web framework's bare 404 (no route)."""
    body = exc.body
    return isinstance(body, dict) and ("error" in body or "message" in body) \
        and "detail" not in body


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("detail") or exc.message)
        return str(err or body.get("detail") or exc.message)
    return str(body or exc.message)


def _call(fn: Callable[[], T], refused: type[VllmError], acao: str) -> T:
    """Run one call to vLLM; its exceptions become VllmError subclasses (pt-BR)."""
    try:
        return fn()
    except VllmError:
        raise
    except openai.AuthenticationError as exc:
        raise VllmAuthError(
            f"O vLLM da equipe recusou a chave ao {acao}. Confira CURADORIA_VLLM_API_KEY."
        ) from exc
    except openai.APITimeoutError as exc:
        raise VllmUnavailable(
            f"O vLLM da equipe não respondeu a tempo ao {acao}. Tente novamente mais tarde."
        ) from exc
    except openai.APIConnectionError as exc:
        raise VllmUnavailable(
            f"Não foi possível conectar ao vLLM da equipe para {acao} (ele está no ar? "
            "Confira CURADORIA_VLLM_URL)."
        ) from exc
    except openai.APIStatusError as exc:
        if exc.status_code in (502, 503, 504, 429):
            raise VllmUnavailable(
                f"O vLLM da equipe está sobrecarregado ou indisponível (erro "
                f"{exc.status_code}) ao {acao}. Tente novamente mais tarde."
            ) from exc
        if exc.status_code == 404 and not _is_vllm_error(exc):
            raise refused(
                f"O vLLM da equipe não permite {acao}: a rota não existe. Inicie-o com "
                "--enable-lora e VLLM_ALLOW_RUNTIME_LORA_UPDATING=True."
            ) from exc
        if exc.status_code == 404 and refused is SmokeTestFailed:
            raise SmokeTestFailed(
                f"O vLLM da equipe não conhece o modelo pedido ao {acao}: o adaptador não "
                f"está carregado. Detalhe do vLLM: {_detail(exc)}"
            ) from exc
        raise refused(
            f"O vLLM da equipe recusou o pedido de {acao} (erro {exc.status_code}). "
            "Detalhe do vLLM: "
            f"{_detail(exc)}"
        ) from exc
    except openai.OpenAIError as exc:
        raise VllmUnavailable(f"Falha ao falar com o vLLM da equipe ao {acao}: {exc}") from exc
