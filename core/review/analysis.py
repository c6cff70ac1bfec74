"""Análise de Treinamento: summary, problems, topics, readiness and the analyst's series.

Counts of conversas come from the trigger-kept rollup (`conversas_resumo`), so they are
exact and cheap at any size. Problems and topics come from `conversas_analise` /
`conversas_problemas`, which `analyze_pending` fills incrementally from `analise_fila`
(a queue the database fills whenever a message is written): a page visit never re-reads
the messages.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Engine, delete, exists, func, insert, select, text
from sqlalchemy.orm import Session

from core.clientes.directory import list_clientes
from core.config import get_settings
from core.db import session_scope
from core.db.tables import Conversa, ConversaResumo, Mensagem
from core.db.tables_analise import AnaliseFila, ConversaAnalise, ConversaProblema
from core.errors import InvalidInput
from core.review.classifier import ClassificadorLLM, queued_ids
from core.review.detection import PROBLEMAS, Deteccao, detect_problems, first_question, suggest_rating
from core.review.readiness import Readiness, get_readiness
from core.review.topics import OUTROS, cluster_questions, match_seed_topic, parse_topics

__all__ = ["PROBLEMAS", "problem_condition", "analyze_pending", "get_analysis", "get_overview"]

PAGINA_CONVERSAS = "conversas"  # url path of the conversations screen
RECOMENDACAO = ("Avalie mais conversas para melhorar o treinamento. "
                "Mínimo recomendado: {minimo} conversas.")


def conversa_url(conversa_id: int) -> str:
    """Where one conversa opens on the conversations screen (one click away)."""
    return f"/{PAGINA_CONVERSAS}?conversa={int(conversa_id)}"


# --- contract with the conversations screen ----------------------------------------------

def problem_condition(codigo: str) -> ColumnElement[bool]:
    """A WHERE clause on Conversa: the conversa has the detected problem `codigo`."""
    return _has_problem(Conversa.id, codigo)


def _has_problem(conversa_id_column, codigo: str) -> ColumnElement[bool]:
    if codigo not in PROBLEMAS:
        raise InvalidInput(f"Problema desconhecido: '{codigo}'. Use um de: {', '.join(PROBLEMAS)}.")
    return exists().where(ConversaProblema.conversa_id == conversa_id_column,
                          ConversaProblema.codigo == codigo)


@dataclass(frozen=True)
class Sugestao:
    """What the analysis thinks of one conversa: a suggestion shown to the admin, never a rating."""

    avaliacao_sugerida: str | None
    problemas: list[str]

    @property
    def rotulos(self) -> list[str]:
        return [PROBLEMAS[c] for c in self.problemas]


def get_suggestion(session: Session, conversa_id: int) -> Sugestao | None:
    """The suggested rating and problems of an analysed conversa, or None if not analysed yet."""
    return get_suggestions(session, [conversa_id]).get(conversa_id)


def get_suggestions(session: Session, conversa_ids: list[int]) -> dict[int, Sugestao]:
    """Suggestions for a page of conversas at once (analysed ones only)."""
    if not conversa_ids:
        return {}
    sugeridas = dict(session.execute(
        select(ConversaAnalise.conversa_id, ConversaAnalise.avaliacao_sugerida)
        .where(ConversaAnalise.conversa_id.in_(conversa_ids))).all())
    problemas: dict[int, list[str]] = defaultdict(list)
    for conversa_id, codigo in session.execute(
            select(ConversaProblema.conversa_id, ConversaProblema.codigo)
            .where(ConversaProblema.conversa_id.in_(conversa_ids))):
        problemas[conversa_id].append(codigo)
    ordem = list(PROBLEMAS)
    return {cid: Sugestao(sugerida, sorted(problemas[cid], key=ordem.index))
            for cid, sugerida in sugeridas.items()}


# --- incremental analysis ----------------------------------------------------------------

def queue_all(session: Session) -> int:
    """Put every conversa back in the queue (after changing the rules or the topic list)."""
    session.execute(delete(AnaliseFila))
    session.execute(insert(AnaliseFila).from_select(["conversa_id"], select(Conversa.id)))
    return count_pending(session)


def count_pending(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AnaliseFila)) or 0


def analyze_pending(engine: Engine, limite: int | None = None, lote: int = 500,
                    classificador: ClassificadorLLM | None = None) -> int:
    """Analyse up to `limite` queued conversas (all when None), `lote` per transaction.

    Safe with several workers at once: on PostgreSQL each batch is claimed with
    FOR UPDATE SKIP LOCKED; a message written meanwhile re-queues its conversa.
    With an LLM `classificador`, the next batch is asked first (outside any transaction,
    into its cache); the analysis then takes its answers from the cache, and the rules
    answer for what it lacks (over the run's cap, endpoint failed, changed meanwhile).
    """
    seeds = parse_topics(get_settings().analise_topicos)
    feitas = 0
    while limite is None or feitas < limite:
        tamanho = lote if limite is None else min(lote, limite - feitas)
        if classificador is not None:
            with session_scope(engine) as session:
                proximas = queued_ids(session, tamanho)
            classificador.warm(engine, proximas)
        with session_scope(engine) as session:
            ids = _claim(session, tamanho)
            if not ids:
                break
            _analyze(session, ids, seeds, classificador)
        feitas += len(ids)
    return feitas


def _claim(session: Session, n: int) -> list[int]:
    if session.bind.dialect.name == "postgresql":
        rows = session.execute(text(
            "DELETE FROM analise_fila WHERE conversa_id IN (SELECT conversa_id FROM analise_fila "
            "ORDER BY conversa_id LIMIT :n FOR UPDATE SKIP LOCKED) RETURNING conversa_id"), {"n": n})
        return sorted(r[0] for r in rows)
    ids = list(session.scalars(select(AnaliseFila.conversa_id).order_by(AnaliseFila.conversa_id).limit(n)))
    if ids:
        session.execute(delete(AnaliseFila).where(AnaliseFila.conversa_id.in_(ids)))
    return ids


def _analyze(session: Session, ids: list[int], seeds, classificador=None) -> None:
    # FOR SHARE: a rating written meanwhile waits for this commit, then its trigger
    # copies the new rating onto the rows written here (no stale copy).
    conversas = {r.id: r for r in session.execute(
        select(Conversa.id, Conversa.cliente_id, Conversa.dia, Conversa.avaliacao)
        .where(Conversa.id.in_(ids)).with_for_update(read=True))}
    mensagens: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for conversa_id, role, conteudo in session.execute(
            select(Mensagem.conversa_id, Mensagem.role, Mensagem.conteudo)
            .where(Mensagem.conversa_id.in_(ids))
            .order_by(Mensagem.conversa_id, Mensagem.enviada_em, Mensagem.id)):
        mensagens[conversa_id].append((role, conteudo))
    llm = classificador.cached(session, {i: mensagens.get(i, []) for i in conversas}) if classificador else {}
    session.execute(delete(ConversaProblema).where(ConversaProblema.conversa_id.in_(ids)))
    session.execute(delete(ConversaAnalise).where(ConversaAnalise.conversa_id.in_(ids)))
    analises, problemas = [], []
    for conversa_id, c in conversas.items():
        msgs = mensagens.get(conversa_id, [])
        deteccao = (Deteccao(llm[conversa_id], suggest_rating(msgs, llm[conversa_id]))
                    if conversa_id in llm else detect_problems(msgs))
        pergunta = first_question(msgs)
        analises.append({
            "conversa_id": conversa_id, "cliente_id": c.cliente_id, "dia": c.dia,
            "pergunta": pergunta[:300] if pergunta else None,
            "topico": match_seed_topic(pergunta, seeds) if pergunta else None,
            "avaliacao_sugerida": deteccao.avaliacao_sugerida, "avaliacao": c.avaliacao,
        })
        problemas += [{"conversa_id": conversa_id, "codigo": codigo, "cliente_id": c.cliente_id,
                       "dia": c.dia, "avaliacao": c.avaliacao} for codigo in deteccao.problemas]
    if analises:
        session.execute(insert(ConversaAnalise), analises)
    if problemas:
        session.execute(insert(ConversaProblema), problemas)


# --- summary and readiness ---------------------------------------------------------------

@dataclass(frozen=True)
class Resumo:
    """Counts of one cliente (or of all, cliente_id None) with the seed's recommendation."""

    cliente_id: int | None
    nome: str
    total: int
    boas: int
    ruins: int
    min_marcadas: int

    @property
    def marcadas(self) -> int:
        return self.boas + self.ruins

    @property
    def sem_avaliacao(self) -> int:
        return self.total - self.marcadas

    def percentual(self, valor: int) -> float:
        return 100.0 * valor / self.total if self.total else 0.0

    @property
    def percentual_ruins_avaliadas(self) -> float:
        return 100.0 * self.ruins / self.marcadas if self.marcadas else 0.0

    @property
    def recomendacao(self) -> str | None:
        if self.marcadas >= self.min_marcadas:
            return None
        return RECOMENDACAO.format(minimo=self.min_marcadas)


@dataclass(frozen=True)
class Filtro:
    """What the analyst narrowed the analysis to (None = everything)."""

    cliente_id: int | None = None
    inicio: dt.date | None = None
    fim: dt.date | None = None

    def apply(self, query, cliente_col, dia_col):
        if self.cliente_id is not None:
            query = query.where(cliente_col == self.cliente_id)
        if self.inicio is not None:
            query = query.where(dia_col >= self.inicio)
        if self.fim is not None:
            query = query.where(dia_col <= self.fim)
        return query


@dataclass
class Overview:
    geral: Resumo
    clientes: list[Resumo]
    prontidao: dict[int, Readiness]


def get_overview(session: Session, filtro: Filtro = Filtro()) -> Overview:
    """Summary per cliente and overall (rollup, filtered) and each cliente's readiness (unfiltered)."""
    minimo = get_settings().min_conversas_marcadas
    total = func.sum(ConversaResumo.total)
    query = filtro.apply(
        select(ConversaResumo.cliente_id, total,
               total.filter(ConversaResumo.avaliacao == "boa"),
               total.filter(ConversaResumo.avaliacao == "ruim")).group_by(ConversaResumo.cliente_id),
        ConversaResumo.cliente_id, ConversaResumo.dia)
    counts = {r[0]: (int(r[1] or 0), int(r[2] or 0), int(r[3] or 0)) for r in session.execute(query)}
    clientes = [c for c in list_clientes(session)
                if filtro.cliente_id is None or c.id == filtro.cliente_id]
    resumos = [Resumo(c.id, c.nome, *counts.get(c.id, (0, 0, 0)), minimo) for c in clientes]
    geral = Resumo(None, "Todos os clientes", sum(r.total for r in resumos),
                   sum(r.boas for r in resumos), sum(r.ruins for r in resumos), minimo)
    prontidao = {c.id: get_readiness(session, c.id) for c in clientes}
    return Overview(geral=geral, clientes=resumos, prontidao=prontidao)


# --- problems and topics -----------------------------------------------------------------

@dataclass
class ProblemaResumo:
    codigo: str
    rotulo: str
    vezes: int
    exemplos: list[int] = field(default_factory=list)  # conversa ids, most recent first


def count_problems(session: Session, filtro: Filtro = Filtro(), avaliacao: str | None = "ruim",
                   exemplos: int = 3) -> list[ProblemaResumo]:
    """Detected problems among conversas rated `avaliacao` (None: all), most frequent first."""
    base = filtro.apply(
        select(ConversaProblema.codigo, func.count()).group_by(ConversaProblema.codigo),
        ConversaProblema.cliente_id, ConversaProblema.dia)
    if avaliacao:
        base = base.where(ConversaProblema.avaliacao == avaliacao)
    counts = dict(session.execute(base).all())
    result = []
    for codigo, rotulo in PROBLEMAS.items():
        if not counts.get(codigo):
            continue
        if not exemplos:
            result.append(ProblemaResumo(codigo, rotulo, counts[codigo]))
            continue
        ids = filtro.apply(
            select(ConversaProblema.conversa_id).where(ConversaProblema.codigo == codigo)
            .order_by(ConversaProblema.conversa_id.desc()).limit(exemplos),
            ConversaProblema.cliente_id, ConversaProblema.dia)
        if avaliacao:
            ids = ids.where(ConversaProblema.avaliacao == avaliacao)
        result.append(ProblemaResumo(codigo, rotulo, counts[codigo], list(session.scalars(ids))))
    return sorted(result, key=lambda p: -p.vezes)


@dataclass
class TopicoResumo:
    rotulo: str
    vezes: int
    exemplos: list[tuple[int, str]] = field(default_factory=list)  # (conversa id, question)
    conhecido: bool = True  # from the seed list; False: found by clustering


@dataclass
class TopicosReport:
    topicos: list[TopicoResumo]
    sem_topico: int  # good conversas whose question no seed topic matched
    agrupadas: int  # how many of those were clustered (the most recent ones)


def count_topics(session: Session, filtro: Filtro = Filtro(), avaliacao: str | None = "boa",
                 exemplos: int = 3) -> TopicosReport:
    """What customers asked in conversas rated `avaliacao`: seed topics plus new clusters."""
    def scoped(query):
        query = filtro.apply(query, ConversaAnalise.cliente_id, ConversaAnalise.dia)
        return query.where(ConversaAnalise.avaliacao == avaliacao) if avaliacao else query

    counts = session.execute(scoped(
        select(ConversaAnalise.topico, func.count()).where(ConversaAnalise.pergunta.is_not(None))
        .group_by(ConversaAnalise.topico))).all()
    topicos = []
    sem_topico = 0
    for rotulo, vezes in counts:
        if rotulo is None:
            sem_topico = vezes
            continue
        rows = session.execute(scoped(
            select(ConversaAnalise.conversa_id, ConversaAnalise.pergunta)
            .where(ConversaAnalise.topico == rotulo)
            .order_by(ConversaAnalise.conversa_id.desc()).limit(exemplos))).all()
        topicos.append(TopicoResumo(rotulo, vezes, [tuple(r) for r in rows]))
    amostra = session.execute(scoped(
        select(ConversaAnalise.conversa_id, ConversaAnalise.pergunta)
        .where(ConversaAnalise.topico.is_(None), ConversaAnalise.pergunta.is_not(None))
        .order_by(ConversaAnalise.conversa_id.desc())
        .limit(get_settings().analise_amostra_topicos))).all()
    topicos += _new_topics(amostra, exemplos)
    return TopicosReport(sorted(topicos, key=lambda t: -t.vezes), sem_topico, len(amostra))


def _new_topics(amostra: list, exemplos: int) -> list[TopicoResumo]:
    labels = cluster_questions([p for _, p in amostra])
    grupos: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for (conversa_id, pergunta), label in zip(amostra, labels):
        grupos[label].append((conversa_id, pergunta))
    return [TopicoResumo(label, len(rows), rows[:exemplos], conhecido=False)
            for label, rows in grupos.items() if label != OUTROS]


# --- series for the analyst's charts -----------------------------------------------------

@dataclass
class Series:
    conversas_por_dia: list[dict]  # dia, cliente, conversas
    avaliacoes_por_dia: list[dict]  # dia, avaliacao, conversas
    problemas_por_dia: list[dict]  # dia, problema, conversas


AVALIACAO_ROTULO = {"boa": "Boa", "ruim": "Ruim", "sem": "Sem avaliação"}


def get_series(session: Session, filtro: Filtro = Filtro()) -> Series:
    nomes = {c.id: c.nome for c in list_clientes(session)}
    total = func.sum(ConversaResumo.total)
    por_cliente = session.execute(filtro.apply(
        select(ConversaResumo.dia, ConversaResumo.cliente_id, total)
        .group_by(ConversaResumo.dia, ConversaResumo.cliente_id)
        .order_by(ConversaResumo.dia), ConversaResumo.cliente_id, ConversaResumo.dia)).all()
    por_avaliacao = session.execute(filtro.apply(
        select(ConversaResumo.dia, ConversaResumo.avaliacao, total)
        .group_by(ConversaResumo.dia, ConversaResumo.avaliacao)
        .order_by(ConversaResumo.dia), ConversaResumo.cliente_id, ConversaResumo.dia)).all()
    por_problema = session.execute(filtro.apply(
        select(ConversaProblema.dia, ConversaProblema.codigo, func.count())
        .group_by(ConversaProblema.dia, ConversaProblema.codigo)
        .order_by(ConversaProblema.dia), ConversaProblema.cliente_id, ConversaProblema.dia)).all()
    return Series(
        [{"dia": d, "cliente": nomes.get(c, str(c)), "conversas": int(n)} for d, c, n in por_cliente],
        [{"dia": d, "avaliacao": AVALIACAO_ROTULO.get(a, a), "conversas": int(n)}
         for d, a, n in por_avaliacao],
        [{"dia": d, "problema": PROBLEMAS.get(p, p), "conversas": int(n)} for d, p, n in por_problema],
    )


# --- the filtered table (and its CSV) ------------------------------------------------------



def list_analyses(session: Session, filtro: Filtro = Filtro(), problema: str | None = None,
                  limite: int = 5000) -> list[dict]:
    """Analysed conversas (most recent first) with their problems, topic and suggestion."""
    nomes = {c.id: c.nome for c in list_clientes(session)}
    query = filtro.apply(
        select(ConversaAnalise.conversa_id, ConversaAnalise.cliente_id, ConversaAnalise.dia,
               ConversaAnalise.avaliacao, ConversaAnalise.avaliacao_sugerida, ConversaAnalise.topico,
               ConversaAnalise.pergunta)
        .order_by(ConversaAnalise.conversa_id.desc()).limit(limite),
        ConversaAnalise.cliente_id, ConversaAnalise.dia)
    if problema:
        query = query.where(_has_problem(ConversaAnalise.conversa_id, problema))
    rows = session.execute(query).all()
    problemas = _problems_of(session, [r.conversa_id for r in rows])
    return [{
        "conversa": r.conversa_id, "cliente": nomes.get(r.cliente_id, str(r.cliente_id)),
        "dia": r.dia, "avaliacao": r.avaliacao or "", "avaliacao_sugerida": r.avaliacao_sugerida or "",
        "problemas": ", ".join(PROBLEMAS[c] for c in problemas.get(r.conversa_id, [])),
        "topico": r.topico or "", "pergunta": r.pergunta or "", "link": conversa_url(r.conversa_id),
    } for r in rows]


def _problems_of(session: Session, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    ordem = list(PROBLEMAS)
    for start in range(0, len(ids), 1000):
        for conversa_id, codigo in session.execute(
                select(ConversaProblema.conversa_id, ConversaProblema.codigo)
                .where(ConversaProblema.conversa_id.in_(ids[start:start + 1000]))):
            found[conversa_id].append(codigo)
    return {k: sorted(v, key=ordem.index) for k, v in found.items()}


# --- everything the page shows -----------------------------------------------------------

@dataclass
class Analise:
    overview: Overview
    problemas: list[ProblemaResumo]
    topicos: TopicosReport
    series: Series
    pendentes: int
    problemas_todas: Counter = field(default_factory=Counter)


def get_analysis(session: Session, filtro: Filtro = Filtro()) -> Analise:
    """The whole Análise de Treinamento for one filter (one call for the page)."""
    todas = Counter({p.codigo: p.vezes for p in count_problems(session, filtro, avaliacao=None,
                                                                exemplos=0)})
    return Analise(
        overview=get_overview(session, filtro),
        problemas=count_problems(session, filtro),
        topicos=count_topics(session, filtro),
        series=get_series(session, filtro),
        pendentes=count_pending(session),
        problemas_todas=todas,
    )
