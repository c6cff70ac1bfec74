"""The second problem detector: an LLM on any OpenAI-compatible endpoint.

A fixed pt-BR prompt defines the six categories with examples; the answer is structured
(JSON schema response_format). Results are cached per conversa, prompt version and model
(`classificacoes_llm`, with a hash of the messages: a conversa that changed is asked
again), so a second run makes no calls. Each run asks about at most
CURADORIA_CLASSIFICADOR_MAX_CONVERSAS conversas and estimates the cost first. 429s and
other transient failures are retried (core.finetune.chat honours Retry-After); an
endpoint that still fails stops the LLM for the rest of the run and the rules answer.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.config import Settings, get_settings
from core.db import session_scope
from core.db.tables import Mensagem
from core.db.tables_analise import AnaliseFila, ClassificacaoLLM
from core.errors import CuradoriaError
from core.review.detection import PROBLEMAS

logger = logging.getLogger("curadoria.review")

VERSAO_PROMPT = "v1"
MAX_CARACTERES = 6000  # of one conversa sent to the model (the end is kept: it matters most)
TOKENS_SAIDA_ESTIMADOS = 40

PROMPT = """Você avalia conversas de WhatsApp entre clientes e o bot de atendimento de uma empresa \
(farmácia, clínica, padaria, loja, oficina, salão, pet shop...). Diga quais destes problemas a \
conversa tem. Pode ser nenhum, um ou vários.

- fallback: o bot disse que não encontrou, não tem, não sabe ou não consegue verificar a \
informação. Ex.: "Não consigo verificar a disponibilidade desse medicamento por aqui", \
"Desculpe, não encontrei essa informação", "Não tenho acesso à agenda".
- vaga: o bot respondeu com texto genérico que não responde o que foi perguntado. Ex.: \
"Temos diversos serviços disponíveis! Fique à vontade para perguntar.", "Trabalhamos com as \
melhores marcas!", "Cada caso é um caso." Uma resposta curta mas concreta ("Abrimos às 8h") \
não é vaga.
- irritado: o cliente está irritado ou reclama (xinga, escreve em maiúsculas, "que absurdo", \
"péssimo", "vou no Procon", "ninguém resolve", 😡).
- sem_resposta: a última mensagem é do cliente e pede, pergunta ou reclama algo que ficou sem \
resposta. Um "ok", "obrigado", emoji ou "passo aí amanhã" no fim não conta.
- humano: o cliente pediu para falar com uma pessoa (atendente, gerente, farmacêutico, o dono...) \
e o bot não passou o contato nem transferiu.
- repetiu: o cliente repetiu a mesma pergunta porque ela não foi respondida.

Uma conversa comum, em que o bot respondeu o que foi perguntado, não tem problema nenhum: \
responda uma lista vazia. Responda só com o JSON pedido."""

FORMATO = {
    "type": "json_schema",
    "json_schema": {
        "name": "problemas_da_conversa",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"problemas": {"type": "array",
                                         "items": {"type": "string", "enum": list(PROBLEMAS)}}},
            "required": ["problemas"],
            "additionalProperties": False,
        },
    },
}


def conversation_text(mensagens: list[tuple[str, str]]) -> str:
    linhas = [f"{'Cliente' if role == 'user' else 'Bot'}: {conteudo}" for role, conteudo in mensagens]
    texto = "\n".join(linhas)
    return texto if len(texto) <= MAX_CARACTERES else "[...]\n" + texto[-MAX_CARACTERES:]


def prompt_messages(mensagens: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"role": "system", "content": PROMPT},
            {"role": "user", "content": "Conversa:\n" + conversation_text(mensagens)}]


def content_hash(mensagens: list[tuple[str, str]]) -> str:
    return hashlib.sha256(json.dumps(mensagens, ensure_ascii=False).encode()).hexdigest()


def parse_answer(content: str) -> list[str]:
    """The codes in the model's JSON answer, in the detector's order; unknown ones dropped."""
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise CuradoriaError(f"Resposta do classificador não é JSON: {content[:200]!r}") from exc
    codigos = data.get("problemas") if isinstance(data, dict) else None
    if not isinstance(codigos, list):
        raise CuradoriaError(f"Resposta do classificador sem 'problemas': {content[:200]!r}")
    return [c for c in PROBLEMAS if c in codigos]


def estimated_tokens(mensagens: list[tuple[str, str]]) -> int:
    """Input tokens of one question, estimated (about 4 characters a token in pt-BR)."""
    return (len(PROMPT) + len(conversation_text(mensagens)) + 40) // 4


@dataclass
class Uso:
    """What one run of the classifier did and cost."""

    perguntadas: int = 0
    do_cache: int = 0
    acima_do_limite: int = 0
    falhou: str | None = None
    tokens_entrada: int = 0
    tokens_saida: int = 0
    custo_estimado_usd: Decimal | None = None
    custo_usd: Decimal | None = None


@dataclass
class ClassificadorLLM:
    """The configured LLM classifier; `ask(messages, response_format=...)` is its endpoint."""

    modelo: str
    ask: Callable[..., object]
    max_conversas: int
    preco: tuple[Decimal, Decimal] | None = None
    uso: Uso = field(default_factory=Uso)

    @property
    def restantes(self) -> int:
        return max(0, self.max_conversas - self.uso.perguntadas)

    def cached(self, session: Session, mensagens: dict[int, list[tuple[str, str]]]
               ) -> dict[int, list[str]]:
        """Cached answers for these conversas (only those whose messages did not change)."""
        if not mensagens:
            return {}
        rows = session.execute(select(ClassificacaoLLM).where(
            ClassificacaoLLM.conversa_id.in_(list(mensagens)),
            ClassificacaoLLM.versao_prompt == VERSAO_PROMPT, ClassificacaoLLM.modelo == self.modelo))
        return {r.conversa_id: [c for c in r.problemas.split(",") if c] for (r,) in rows
                if r.conteudo_hash == content_hash(mensagens[r.conversa_id])}

    def warm(self, engine: Engine, ids: list[int]) -> None:
        """Ask the model about those of `ids` not in the cache, within the run's cap."""
        if self.uso.falhou or not ids:
            return
        with session_scope(engine) as session:
            mensagens = read_messages(session, ids)
            prontas = self.cached(session, mensagens)
        faltam = [cid for cid in ids if cid not in prontas]
        self.uso.do_cache += len(prontas)
        perguntar, self.uso.acima_do_limite = (faltam[:self.restantes],
                                               self.uso.acima_do_limite + max(0, len(faltam) - self.restantes))
        self._estimate([mensagens[c] for c in perguntar])
        from core.finetune.chat import EndpointError  # the generic OpenAI-compatible client

        for cid in perguntar:
            try:
                answer = self.ask(prompt_messages(mensagens[cid]), response_format=FORMATO)
                codigos = parse_answer(answer.content)
            except (EndpointError, CuradoriaError) as exc:
                self.uso.falhou = str(exc)
                logger.warning("classificador LLM falhou; valem as regras: %s", exc)
                return
            self.uso.perguntadas += 1
            self.uso.tokens_entrada += answer.tokens_entrada
            self.uso.tokens_saida += answer.tokens_saida
            self._store(engine, cid, mensagens[cid], codigos, answer)
        if self.preco is not None:
            self.uso.custo_usd = _cost(self.uso.tokens_entrada, self.uso.tokens_saida, self.preco)

    def _estimate(self, conversas: list[list[tuple[str, str]]]) -> None:
        """Add what asking about these conversas should cost (before asking)."""
        if self.preco is None or not conversas:
            return
        entrada = sum(estimated_tokens(m) for m in conversas)
        custo = _cost(entrada, TOKENS_SAIDA_ESTIMADOS * len(conversas), self.preco)
        self.uso.custo_estimado_usd = (self.uso.custo_estimado_usd or Decimal(0)) + custo

    def _store(self, engine: Engine, cid: int, mensagens, codigos, answer) -> None:
        with session_scope(engine) as session:
            row = session.get(ClassificacaoLLM, (cid, VERSAO_PROMPT, self.modelo))
            if row is None:
                row = ClassificacaoLLM(conversa_id=cid, versao_prompt=VERSAO_PROMPT, modelo=self.modelo)
                session.add(row)
            row.conteudo_hash = content_hash(mensagens)
            row.problemas = ",".join(codigos)
            row.tokens_entrada = answer.tokens_entrada
            row.tokens_saida = answer.tokens_saida


def _cost(entrada: int, saida: int, preco: tuple[Decimal, Decimal]) -> Decimal:
    return ((Decimal(entrada) * preco[0] + Decimal(saida) * preco[1]) / Decimal(1_000_000)
            ).quantize(Decimal("0.000001"))


def read_messages(session: Session, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    mensagens: dict[int, list[tuple[str, str]]] = {cid: [] for cid in ids}
    for cid, role, conteudo in session.execute(
            select(Mensagem.conversa_id, Mensagem.role, Mensagem.conteudo)
            .where(Mensagem.conversa_id.in_(ids))
            .order_by(Mensagem.conversa_id, Mensagem.enviada_em, Mensagem.id)):
        mensagens[cid].append((role, conteudo))
    return mensagens


def queued_ids(session: Session, n: int) -> list[int]:
    """The next `n` conversas of the analysis queue, without claiming them."""
    return list(session.scalars(select(AnaliseFila.conversa_id)
                                .order_by(AnaliseFila.conversa_id).limit(n)))


def classifier_from_settings(escolha: str | None = None, settings: Settings | None = None
                             ) -> ClassificadorLLM | None:
    """The LLM classifier when chosen (`escolha`, else CURADORIA_CLASSIFICADOR) and a model
    is configured; None means the rules."""
    settings = settings or get_settings()
    if (escolha or settings.classificador) != "llm":
        return None
    modelo = (settings.classificador_modelo or "").strip()
    if not modelo:
        logger.warning("classificador 'llm' sem CURADORIA_CLASSIFICADOR_MODELO; valem as regras")
        return None
    from core.finetune.chat import Endpoint, ask, make_client
    from core.finetune.scoring import inference_price_for

    key = settings.classificador_api_key.get_secret_value() if settings.classificador_api_key else None
    endpoint = Endpoint(model=modelo, base_url=settings.classificador_endpoint or None, api_key=key)
    state: dict[str, object] = {}

    def asker(messages, response_format=None):
        if "client" not in state:
            state["client"] = make_client(endpoint, settings)  # EndpointError without a key
        return ask(state["client"], endpoint, messages, settings, response_format=response_format)

    return ClassificadorLLM(modelo=modelo, ask=asker, max_conversas=settings.classificador_max_conversas,
                            preco=inference_price_for(modelo, settings.avaliacao_precos_usd))
