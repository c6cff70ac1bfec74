"""Evaluate a finished job's model on held-out conversations before it answers customers.

The held-out examples are the job's validation file (written at job start into
`CURADORIA_FINE_TUNING_DIR/job-<id>/`, never trained on): up to
`CURADORIA_AVALIACAO_MAX_EXEMPLOS` of them, spread over the file, each cut before its last
assistant turn. The candidate and the model in use each answer every one on its own
OpenAI-compatible endpoint (a thread pool of `CURADORIA_AVALIACAO_CONCORRENCIA`); an
optional judge compares the two answers in both orders.

Storage is the resume point: the examples are frozen in `avaliacoes_exemplos` when the
evaluation is created and every answer is written as it arrives, so a run that crashed or
failed is resumed by the next `run_evaluation` of the same job and models, asking only
what is missing. `decide` turns the summary into "aprovado" (not worse than the model in
use) or "aguardando_aprovacao"; `approve` / `reject` record a person's decision. Putting
the model into use is someone else's job (the poller / deploy read the decision).
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.config import Settings, get_settings
from core.db import session_scope
from core.errors import CuradoriaError, InvalidInput, NotFound
from core.finetune.chat import ChatAnswer, Endpoint, EndpointError, ask, make_client
from core.finetune.judge import judge_from_settings, judge_pair
from core.finetune.outcome import (
    AGUARDANDO,
    APROVADO,
    LIMIAR_CHRF,
    ORDEM_MUDANCA,
    REJEITADO,
    ComparisonRow,
    change,
    decide,
    summarize,
)
from core.finetune.scoring import answer_problems, chrf, last_user_message
from core.db.tables import FineTuningJob
from core.db.tables_avaliacao import AvaliacaoExemplo, AvaliacaoModelo

__all__ = ["Endpoint", "Evaluation", "ComparisonRow", "NoHeldOutExamples", "run_evaluation",
           "decide", "summarize", "get_evaluation", "latest_evaluation", "list_evaluations",
           "compare_rows", "approve", "reject", "judge_from_settings", "read_held_out",
           "AGUARDANDO", "APROVADO", "REJEITADO", "LIMIAR_CHRF", "change"]

LADOS = ("candidato", "atual")
AUTOMATICO = "automatico"  # decidida_por of a decision the gate took by itself


class NoHeldOutExamples(CuradoriaError):
    """The job has no validation file, or nothing usable in it."""


@dataclass(frozen=True)
class HeldOut:
    """One held-out example: the conversa up to the answer, and the curated answer."""

    linha: int
    contexto: list[dict[str, str]]
    resposta_curada: str


@dataclass(frozen=True)
class Evaluation:
    id: int
    fine_tuning_job_id: int
    cliente_id: int
    modelo_candidato: str
    endpoint_candidato: str | None
    modelo_atual: str
    endpoint_atual: str | None
    modelo_juiz: str | None
    endpoint_juiz: str | None
    status: str
    decisao: str | None
    exemplos: int
    resumo: dict[str, Any]
    custo_usd: Decimal | None
    erro: str | None
    criada_em: dt.datetime
    concluida_em: dt.datetime | None
    criada_por: str | None
    decidida_por: str | None
    decidida_em: dt.datetime | None


@dataclass
class _Exemplo:
    """What the running evaluation knows of one example (mirrors its row)."""

    indice: int
    contexto: list[dict[str, str]]
    curada: str
    respostas: dict[str, str | None]
    juiz: dict[str, Any] | None
    uso: dict[str, Any] = field(default_factory=dict)

    def answered(self) -> bool:
        return all(self.respostas[lado] is not None for lado in LADOS)


# --- held-out examples ------------------------------------------------------------------

def job_files_dir(job_id: int, settings: Settings) -> Path:
    """Where the fine-tuning start wrote the job's files (core/finetune/start.py)."""
    return Path(settings.fine_tuning_dir) / f"job-{job_id}"


def read_held_out(job_dir: Path, limite: int) -> list[HeldOut]:
    """Up to `limite` examples of the validation file, spread evenly over it (two passes:
    memory does not grow with the file)."""
    paths = sorted(Path(job_dir).glob("*-validation.jsonl"))
    if not paths:
        raise NoHeldOutExamples(
            f"Não há arquivo de validação em {job_dir}: sem conversas separadas do treino não "
            "é possível avaliar o modelo (CURADORIA_DATASET_FRACAO_VALIDACAO = 0?).")
    with open(paths[0], encoding="utf-8") as fh:
        total = sum(1 for line in fh if line.strip())
    wanted = _spread(total, limite)
    examples, position = [], 0
    with open(paths[0], encoding="utf-8") as fh:
        for numero, line in enumerate(fh, 1):
            if not line.strip():
                continue
            if position in wanted and (example := cut_example(line, numero)) is not None:
                examples.append(example)
            position += 1
    if not examples:
        raise NoHeldOutExamples(f"O arquivo de validação {paths[0]} não tem exemplos com uma "
                                "pergunta do cliente e uma resposta para avaliar.")
    return examples


def _spread(total: int, limite: int) -> set[int]:
    """`limite` positions out of `total`, evenly spaced (all of them when few)."""
    if total <= limite:
        return set(range(total))
    return {i * total // limite for i in range(limite)}


def cut_example(line: str, linha: int) -> HeldOut | None:
    """A training line cut before its last assistant turn; None when it has no such turn
    after a customer message, or is not a chat example."""
    try:
        messages = json.loads(line).get("messages")
    except (ValueError, AttributeError):
        return None
    if not isinstance(messages, list):
        return None
    clean = [{"role": m["role"], "content": m["content"]} for m in messages
             if isinstance(m, dict) and m.get("role") in ("system", "user", "assistant")
             and isinstance(m.get("content"), str)]
    last = max((i for i, m in enumerate(clean) if m["role"] == "assistant"), default=None)
    if last is None or not any(m["role"] == "user" for m in clean[:last]):
        return None
    return HeldOut(linha=linha, contexto=clean[:last], resposta_curada=clean[last]["content"])


# --- running ----------------------------------------------------------------------------

def run_evaluation(engine: Engine, job_id: int, candidate: Endpoint, current: Endpoint,
                   judge: Endpoint | None = None, *, criada_por: str = "poller",
                   settings: Settings | None = None,
                   progresso: Callable[[int, int], None] | None = None) -> Evaluation:
    """Evaluate the job's model (`candidate`) against the model in use (`current`).

    Resumes this job's unfinished evaluation of the same models and endpoints, else starts
    a new one. A failure of an endpoint (after the retries) leaves the evaluation `falhou`
    with the pt-BR reason in `erro` and every answer obtained so far stored; it is returned,
    not raised. `progresso(feitas, total)` is called after each stored answer or verdict.
    """
    settings = settings or get_settings()
    avaliacao_id, exemplos = _open(engine, job_id, candidate, current, judge, settings,
                                   criada_por)
    clients: dict[str, Any] = {}
    try:
        endpoints = {"candidato": candidate, "atual": current, "juiz": judge}
        clients = {lado: make_client(ep, settings) for lado, ep in endpoints.items() if ep}
        _answer_all(engine, avaliacao_id, exemplos, endpoints, clients, settings, progresso)
    except EndpointError as exc:
        _fail(engine, avaliacao_id, str(exc))
    except Exception as exc:
        _fail(engine, avaliacao_id, f"Falha inesperada durante a avaliação: {exc}")
        raise
    else:
        _finish(engine, avaliacao_id, settings)
    finally:
        for client in clients.values():
            client.close()
    with session_scope(engine) as session:
        return get_evaluation(session, avaliacao_id)


def _identity(candidate: Endpoint, current: Endpoint, judge: Endpoint | None,
              settings: Settings) -> dict[str, str | None]:
    """What makes two runs the same evaluation (a NULL endpoint is the OpenAI API)."""
    return {
        "modelo_candidato": candidate.model,
        "endpoint_candidato": candidate.where(settings) or None,
        "modelo_atual": current.model, "endpoint_atual": current.where(settings) or None,
        "modelo_juiz": judge.model if judge else None,
        "endpoint_juiz": (judge.where(settings) or None) if judge else None,
    }


def _open(engine: Engine, job_id: int, candidate: Endpoint, current: Endpoint,
          judge: Endpoint | None, settings: Settings, criada_por: str
          ) -> tuple[int, list[_Exemplo]]:
    """The evaluation to run (resumed or new) and its examples."""
    identity = _identity(candidate, current, judge, settings)
    for attempt in range(2):
        try:
            with session_scope(engine) as session:
                avaliacao_id = _resume_or_create(session, job_id, identity, settings,
                                                 criada_por)
            break
        except IntegrityError:  # another process created it at the same moment: resume it
            if attempt:
                raise
    with session_scope(engine) as session:
        rows = session.scalars(select(AvaliacaoExemplo)
                               .where(AvaliacaoExemplo.avaliacao_id == avaliacao_id)
                               .order_by(AvaliacaoExemplo.indice))
        return avaliacao_id, [_state(row) for row in rows]


def _resume_or_create(session: Session, job_id: int, identity: dict[str, str | None],
                      settings: Settings, criada_por: str) -> int:
    job = session.get(FineTuningJob, job_id)
    if job is None:
        raise NotFound(f"O fine-tuning #{job_id} não existe.")
    if job.status != "succeeded":
        raise InvalidInput(f"O fine-tuning #{job_id} não terminou com sucesso (status "
                           f"{job.status}): não há modelo novo para avaliar.")
    latest = session.scalar(select(AvaliacaoModelo)
                            .where(AvaliacaoModelo.fine_tuning_job_id == job_id)
                            .order_by(AvaliacaoModelo.id.desc()).limit(1))
    if latest is not None and latest.status != "concluida":
        if all(getattr(latest, k) == v for k, v in identity.items()):
            latest.status, latest.erro = "executando", None
            return latest.id
        if latest.status == "executando":
            latest.status = "falhou"
            latest.erro = "Substituída por uma nova avaliação com outros modelos ou endpoints."
            session.flush()
    held = read_held_out(job_files_dir(job_id, settings), settings.avaliacao_max_exemplos)
    row = AvaliacaoModelo(fine_tuning_job_id=job_id, cliente_id=job.cliente_id,
                          status="executando", exemplos=len(held), criada_por=criada_por,
                          **identity)
    session.add(row)
    session.flush()
    session.execute(insert(AvaliacaoExemplo), [
        {"avaliacao_id": row.id, "indice": i, "linha": ex.linha,
         "pergunta": last_user_message(ex.contexto),
         "contexto": json.dumps(ex.contexto, ensure_ascii=False),
         "resposta_curada": ex.resposta_curada, "uso": "{}"}
        for i, ex in enumerate(held)])
    return row.id


def _state(row: AvaliacaoExemplo) -> _Exemplo:
    return _Exemplo(indice=row.indice, contexto=json.loads(row.contexto),
                    curada=row.resposta_curada,
                    respostas={"candidato": row.resposta_candidato, "atual": row.resposta_atual},
                    juiz=json.loads(row.juiz) if row.juiz else None,
                    uso=json.loads(row.uso or "{}"))


def _answer_all(engine: Engine, avaliacao_id: int, exemplos: list[_Exemplo],
                endpoints: dict[str, Endpoint | None], clients: dict[str, Any],
                settings: Settings, progresso: Callable[[int, int], None] | None) -> None:
    """Ask what is missing, `avaliacao_concorrencia` calls at a time; this thread writes.

    On the first failure nothing new starts; the calls already running finish and their
    answers are stored before the error is raised.
    """
    judging = endpoints["juiz"] is not None
    pending: dict[cf.Future, tuple[str, _Exemplo]] = {}
    pool = cf.ThreadPoolExecutor(max_workers=settings.avaliacao_concorrencia,
                                 thread_name_prefix="avaliacao")

    def submit(kind: str, ex: _Exemplo) -> None:
        if kind == "juiz":
            future = pool.submit(judge_pair, _asker(clients["juiz"], endpoints["juiz"], settings),
                                 ex.contexto, ex.curada, ex.respostas["candidato"],
                                 ex.respostas["atual"])
        else:
            future = pool.submit(ask, clients[kind], endpoints[kind], ex.contexto, settings)
        pending[future] = (kind, ex)

    for ex in exemplos:
        for lado in LADOS:
            if ex.respostas[lado] is None:
                submit(lado, ex)
        if judging and ex.juiz is None and ex.answered():
            submit("juiz", ex)
    total = len(pending) + (sum(1 for ex in exemplos if ex.juiz is None and not ex.answered())
                            if judging else 0)
    feitas, error = 0, None
    try:
        while pending:
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                kind, ex = pending.pop(future)
                if future.cancelled():
                    continue
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - raised below, after the drain
                    error = error or exc
                    for other in pending:
                        other.cancel()
                    continue
                if kind == "juiz":
                    _save_verdict(engine, avaliacao_id, ex, *result)
                else:
                    _save_answer(engine, avaliacao_id, ex, kind, result)
                    if judging and error is None and ex.answered() and ex.juiz is None:
                        submit("juiz", ex)
                feitas += 1
                if progresso is not None:
                    progresso(feitas, total)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if error is not None:
        raise error


def _asker(client: Any, endpoint: Endpoint, settings: Settings) -> Callable[..., ChatAnswer]:
    def asker(messages: list[dict[str, str]], response_format: dict | None = None) -> ChatAnswer:
        return ask(client, endpoint, messages, settings, response_format=response_format)
    return asker


def _save_answer(engine: Engine, avaliacao_id: int, ex: _Exemplo, lado: str,
                 answer: ChatAnswer) -> None:
    """Store one answer with its scores; an answer already stored is never replaced."""
    ex.respostas[lado] = answer.content
    ex.uso[lado] = {"entrada": answer.tokens_entrada, "saida": answer.tokens_saida,
                    "ms": answer.ms}
    column = getattr(AvaliacaoExemplo, f"resposta_{lado}")
    with engine.begin() as conn:
        conn.execute(update(AvaliacaoExemplo)
                     .where(AvaliacaoExemplo.avaliacao_id == avaliacao_id,
                            AvaliacaoExemplo.indice == ex.indice, column.is_(None))
                     .values({column: answer.content,
                              f"problemas_{lado}": json.dumps(
                                  answer_problems(ex.contexto, answer.content)),
                              f"chrf_{lado}": chrf(answer.content, ex.curada),
                              "uso": json.dumps(ex.uso)}))


def _save_verdict(engine: Engine, avaliacao_id: int, ex: _Exemplo, verdict: dict[str, Any],
                  tokens: tuple[int, int]) -> None:
    ex.juiz = verdict
    ex.uso["juiz"] = {"entrada": tokens[0], "saida": tokens[1]}
    with engine.begin() as conn:
        conn.execute(update(AvaliacaoExemplo)
                     .where(AvaliacaoExemplo.avaliacao_id == avaliacao_id,
                            AvaliacaoExemplo.indice == ex.indice)
                     .values(juiz=json.dumps(verdict, ensure_ascii=False),
                             uso=json.dumps(ex.uso)))


def _fail(engine: Engine, avaliacao_id: int, erro: str) -> None:
    with session_scope(engine) as session:
        row = session.get(AvaliacaoModelo, avaliacao_id)
        row.status, row.erro = "falhou", erro


def _finish(engine: Engine, avaliacao_id: int, settings: Settings) -> None:
    """Summarize from the stored rows, decide, and close the evaluation."""
    with session_scope(engine) as session:
        row = session.get(AvaliacaoModelo, avaliacao_id)
        rows = _rows(session, avaliacao_id)
        resumo = summarize(row.modelo_candidato, row.modelo_atual, row.modelo_juiz, rows,
                           settings.avaliacao_precos_usd)
        row.resumo = json.dumps(resumo, ensure_ascii=False)
        row.custo_usd = Decimal(resumo["custo_usd"]) if resumo["custo_usd"] else None
        row.status, row.erro, row.concluida_em = "concluida", None, utcnow()
        row.decisao = decide(resumo, settings)
        if row.decisao == APROVADO:
            row.decidida_por, row.decidida_em = AUTOMATICO, utcnow()


# --- reading ----------------------------------------------------------------------------

def _to_evaluation(row: AvaliacaoModelo) -> Evaluation:
    return Evaluation(
        id=row.id, fine_tuning_job_id=row.fine_tuning_job_id, cliente_id=row.cliente_id,
        modelo_candidato=row.modelo_candidato, endpoint_candidato=row.endpoint_candidato,
        modelo_atual=row.modelo_atual, endpoint_atual=row.endpoint_atual,
        modelo_juiz=row.modelo_juiz, endpoint_juiz=row.endpoint_juiz, status=row.status,
        decisao=row.decisao, exemplos=row.exemplos, resumo=json.loads(row.resumo or "{}"),
        custo_usd=row.custo_usd, erro=row.erro, criada_em=row.criada_em,
        concluida_em=row.concluida_em, criada_por=row.criada_por,
        decidida_por=row.decidida_por, decidida_em=row.decidida_em)


def _get_row(session: Session, evaluation_id: int) -> AvaliacaoModelo:
    row = session.get(AvaliacaoModelo, evaluation_id)
    if row is None:
        raise NotFound(f"A avaliação #{evaluation_id} não existe.")
    return row


def get_evaluation(session: Session, evaluation_id: int) -> Evaluation:
    return _to_evaluation(_get_row(session, evaluation_id))


def latest_evaluation(session: Session, job_id: int) -> Evaluation | None:
    """The job's newest evaluation (what `finetune aprovar|rejeitar JOB` acts on)."""
    row = session.scalar(select(AvaliacaoModelo)
                         .where(AvaliacaoModelo.fine_tuning_job_id == job_id)
                         .order_by(AvaliacaoModelo.id.desc()).limit(1))
    return _to_evaluation(row) if row is not None else None


def list_evaluations(session: Session, cliente_id: int | None = None,
                     job_id: int | None = None, limite: int = 100) -> list[Evaluation]:
    """Newest first, optionally of one cliente or one job."""
    stmt = select(AvaliacaoModelo).order_by(AvaliacaoModelo.id.desc()).limit(limite)
    if cliente_id is not None:
        stmt = stmt.where(AvaliacaoModelo.cliente_id == cliente_id)
    if job_id is not None:
        stmt = stmt.where(AvaliacaoModelo.fine_tuning_job_id == job_id)
    return [_to_evaluation(row) for row in session.scalars(stmt)]


def _rows(session: Session, evaluation_id: int) -> list[ComparisonRow]:
    rows = session.scalars(select(AvaliacaoExemplo)
                           .where(AvaliacaoExemplo.avaliacao_id == evaluation_id)
                           .order_by(AvaliacaoExemplo.indice))
    return [_to_row(row) for row in rows]


def _to_row(row: AvaliacaoExemplo) -> ComparisonRow:
    problemas = (json.loads(row.problemas_candidato or "[]"),
                 json.loads(row.problemas_atual or "[]"))
    juiz = json.loads(row.juiz) if row.juiz else None
    answered = row.resposta_candidato is not None and row.resposta_atual is not None
    return ComparisonRow(
        indice=row.indice, linha=row.linha, pergunta=row.pergunta,
        contexto=json.loads(row.contexto), resposta_curada=row.resposta_curada,
        resposta_candidato=row.resposta_candidato, resposta_atual=row.resposta_atual,
        problemas_candidato=problemas[0], problemas_atual=problemas[1],
        chrf_candidato=row.chrf_candidato, chrf_atual=row.chrf_atual, juiz=juiz,
        uso=json.loads(row.uso or "{}"),
        mudanca=change(problemas, juiz, (row.chrf_candidato, row.chrf_atual), answered))


def compare_rows(session: Session, evaluation_id: int) -> list[ComparisonRow]:
    """The examples for the side-by-side page: worse first, then better, then the rest;
    within each group the largest chrF gap first."""
    _get_row(session, evaluation_id)
    return sorted(_rows(session, evaluation_id), key=lambda r: (
        ORDEM_MUDANCA[r.mudanca],
        -abs((r.chrf_candidato or 0.0) - (r.chrf_atual or 0.0)), r.indice))


# --- a person's decision ----------------------------------------------------------------

def approve(session: Session, evaluation_id: int, usuario: str) -> Evaluation:
    """A person lets the candidate go into use (decision fields only)."""
    return _decide_by_hand(session, evaluation_id, usuario, APROVADO)


def reject(session: Session, evaluation_id: int, usuario: str) -> Evaluation:
    """A person keeps the model in use (decision fields only)."""
    return _decide_by_hand(session, evaluation_id, usuario, REJEITADO)


def _decide_by_hand(session: Session, evaluation_id: int, usuario: str,
                    decisao: str) -> Evaluation:
    row = _get_row(session, evaluation_id)
    if row.decisao == decisao:
        return _to_evaluation(row)  # a double click changes nothing
    if row.status == "executando":
        raise InvalidInput(f"A avaliação #{row.id} ainda está em andamento: aguarde o fim.")
    if decisao == APROVADO and row.status != "concluida":
        raise InvalidInput(f"A avaliação #{row.id} falhou ({row.erro or 'sem detalhe'}): "
                           "rode a avaliação de novo antes de aprovar o modelo.")
    if row.decisao in (APROVADO, REJEITADO):
        quem = "automaticamente" if row.decidida_por == AUTOMATICO else f"por {row.decidida_por}"
        raise InvalidInput(f"A avaliação #{row.id} já foi decidida ({row.decisao} {quem}).")
    row.decisao, row.decidida_por, row.decidida_em = decisao, usuario, utcnow()
    session.flush()
    return _to_evaluation(row)
