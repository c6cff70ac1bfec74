"""The evaluation gate between a finished job and the customers, and a person's decision.

`evaluation_gate` (core.finetune.rollout's gate when CURADORIA_AVALIACAO_ATIVA is on)
evaluates the prepared candidate against the model the bot uses now on the job's held-out
conversations (core.finetune.evaluate): 'aplicar' when the candidate is not worse, else
the pt-BR reason it waits for an admin. An endpoint that does not answer raises a
transient ProviderError: rollout retries next cycle and the evaluation resumes where it
stopped (answered examples are not asked again).

`approve` / `reject` are the admin's decision (CLI `finetune aprovar|rejeitar`, the
pages' buttons): the job's deployment (rollout) and the evaluation's record, together.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine

from core.config import Settings, get_settings
from core.db import session_scope
from core.db.tables import Cliente, FineTuningJob
from core.errors import InvalidInput, NotFound
from core.finetune import evaluate
from core.finetune.deploy import OPENAI_ENDPOINT, endpoint_in_use, model_in_use
from core.finetune.evaluate import Endpoint, Evaluation, NoHeldOutExamples
from core.finetune.provider import ProviderUnavailable
from core.finetune.rollout import Candidate, approve_job, reject_job
from core.logs import log_event

logger = logging.getLogger("curadoria.finetune")

APLICAR = "aplicar"
POLLER = "poller"
# Key sent to a vLLM started without --api-key (never the OpenAI key to another server).
SEM_CHAVE = "sem-chave"


def endpoint_to_ask(modelo: str, endpoint: str | None, settings: Settings | None = None
                    ) -> Endpoint:
    """How the dashboard asks `modelo`, which the bot calls at `endpoint`, and with which key:
    the OpenAI API (OPENAI_BASE_URL when set: proxies, tests) with OPENAI_API_KEY; the team's
    vLLM (CURADORIA_VLLM_URL, as the dashboard reaches it) or any other OpenAI-compatible
    endpoint with CURADORIA_VLLM_API_KEY."""
    settings = settings or get_settings()
    if not endpoint or endpoint.rstrip("/") == OPENAI_ENDPOINT:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return Endpoint(modelo, None, key)
    if settings.vllm_url and endpoint.rstrip("/") in {
            (settings.vllm_url_bot or "").rstrip("/"), settings.vllm_url.rstrip("/")}:
        endpoint = settings.vllm_url
    key = settings.vllm_api_key.get_secret_value() if settings.vllm_api_key else None
    return Endpoint(modelo, endpoint, (key or "").strip() or SEM_CHAVE)


def evaluation_gate(engine: Engine, job_id: int, candidate: Candidate) -> str:
    """'aplicar' when the candidate may serve without a human, else the pt-BR reason."""
    settings = get_settings()
    with session_scope(engine) as session:
        job = session.get(FineTuningJob, job_id)
        cliente = session.get(Cliente, job.cliente_id)
        atual, endpoint_atual = model_in_use(cliente), endpoint_in_use(cliente)
    if atual == candidate.modelo and (endpoint_atual or "") == candidate.endpoint:
        return APLICAR  # nothing would change
    try:
        evaluation = run_for_job(engine, job_id, candidate.modelo, candidate.endpoint,
                                 atual, endpoint_atual, criada_por=POLLER, settings=settings)
    except (NoHeldOutExamples, InvalidInput) as exc:
        return (f"Sem evidência: o modelo novo não pôde ser avaliado. {exc.mensagem} "
                "Compare-o com o atual antes de aprovar.")
    if evaluation.status != "concluida":
        raise ProviderUnavailable(
            f"A avaliação #{evaluation.id} do modelo novo não terminou: {evaluation.erro} "
            "As respostas já obtidas ficam guardadas; a avaliação continua de onde parou.")
    log_event(logger, "avaliacao_concluida", job=job_id, avaliacao=evaluation.id,
              decisao=evaluation.decisao)
    if evaluation.decisao == evaluate.APROVADO:
        return APLICAR
    return reason(evaluation)


def run_for_job(engine: Engine, job_id: int, modelo: str, endpoint: str | None, atual: str,
                endpoint_atual: str | None, *, criada_por: str,
                settings: Settings | None = None, progresso=None) -> Evaluation:
    """Evaluate `modelo` against `atual` on the job's held-out conversas (resumes)."""
    settings = settings or get_settings()
    if endpoint_atual is None:
        raise InvalidInput(f"Não sei onde chamar o modelo atual {atual}: defina "
                           "CURADORIA_VLLM_URL.")
    return evaluate.run_evaluation(
        engine, job_id, endpoint_to_ask(modelo, endpoint, settings),
        endpoint_to_ask(atual, endpoint_atual, settings), evaluate.judge_from_settings(settings),
        criada_por=criada_por, settings=settings, progresso=progresso)


def evaluate_job(engine: Engine, job_id: int, *, usuario: str,
                 progresso=None) -> Evaluation:
    """Run (or resume) the evaluation of a succeeded job's model by hand (CLI `avaliar`):
    the prepared model when there is one, else the fine-tuned model on its endpoint."""
    from core.finetune.deploy import endpoint_for

    with session_scope(engine) as session:
        job = session.get(FineTuningJob, job_id)
        if job is None:
            raise NotFound(f"Job de fine-tuning {job_id} não encontrado.")
        if job.status != "succeeded" or not (job.modelo_implantado or job.modelo_fine_tuned):
            raise InvalidInput(f"O job {job_id} não terminou com sucesso (status {job.status}): "
                               "não há modelo novo para avaliar.")
        modelo = job.modelo_implantado or job.modelo_fine_tuned
        endpoint = job.endpoint_implantado or endpoint_for(modelo)
        cliente = session.get(Cliente, job.cliente_id)
        atual, endpoint_atual = model_in_use(cliente), endpoint_in_use(cliente)
    return run_for_job(engine, job_id, modelo, endpoint, atual, endpoint_atual,
                       criada_por=usuario, progresso=progresso)


def reason(evaluation: Evaluation) -> str:
    """Why the candidate waits for a person, in pt-BR, from the evaluation's summary."""
    resumo = evaluation.resumo or {}
    novo, atual = resumo.get("candidato") or {}, resumo.get("atual") or {}
    texto = (f"Na avaliação #{evaluation.id} ({evaluation.exemplos} conversas separadas do "
             f"treino), o modelo novo teve {novo.get('respostas_com_problema', 0)} respostas "
             f"com problema, contra {atual.get('respostas_com_problema', 0)} do atual")
    juiz = resumo.get("juiz") or {}
    if juiz.get("julgados"):
        texto += (f"; o juiz preferiu o novo em {juiz['vitorias']}, o atual em "
                  f"{juiz['derrotas']} ({juiz['empates']} empates)")
    return texto + ". O novo modelo não se saiu melhor que o atual."


@dataclass(frozen=True)
class Decision:
    acao: str  # aplicado | rejeitado | ignorado
    avaliacao_id: int | None


def approve(engine: Engine, job_id: int, *, usuario: str) -> Decision:
    """The admin lets the held model serve: applied once, and recorded on its evaluation."""
    acao = approve_job(engine, job_id, usuario=usuario)
    return Decision(acao, _record(engine, job_id, usuario, evaluate.approve))


def reject(engine: Engine, job_id: int, *, usuario: str) -> Decision:
    """The admin keeps the current model, recorded on the evaluation."""
    acao = reject_job(engine, job_id, usuario=usuario)
    return Decision(acao, _record(engine, job_id, usuario, evaluate.reject))


def _record(engine: Engine, job_id: int, usuario: str, decide_by_hand) -> int | None:
    """The person's decision on the job's newest evaluation, if it has one still open."""
    with session_scope(engine) as session:
        latest = evaluate.latest_evaluation(session, job_id)
        if latest is None:
            return None
        if latest.decisao not in (evaluate.APROVADO, evaluate.REJEITADO) \
                and latest.status == "concluida":
            decide_by_hand(session, latest.id, usuario)
        return latest.id
