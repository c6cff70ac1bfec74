"""Realistic, deterministic pt-BR demo data: into the database or into Redis (bot format).

`generate_conversations` is pure: the same (n, seed, anchor) always yields the same
conversas, each with its ground truth (`topico`, `desfecho`) for tests of the analysis.
The writers load it in bulk (COPY on PostgreSQL) so a million conversas take minutes.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy import Engine, delete, func, select, text

from core.clock import from_epoch_ms, local_day, local_midnight_utc, to_epoch_ms, utcnow
from core.db.tables import Cliente, Conversa
from core.demo import content as C
from core.review.search_index import update_search

DIA_MS = 86_400_000
JANELA_DIAS = 62  # a little over Redis' 60 days, so some list entries point at expired keys
TTL_MS = 60 * DIA_MS
INATIVIDADE_MS = 30 * 60_000
DESFECHOS = ["boa"] * 60 + ["fallback"] * 10 + ["vaga"] * 8 + ["irritado"] * 6 + \
    ["humano"] * 6 + ["sem_resposta"] * 5 + ["repetiu"] * 5
TOPICOS = list(C.TOPICOS)


@dataclass
class DemoConversa:
    cliente_slug: str
    whatsapp: str  # digits only
    whatsapp_bruto: str  # as the bot saw it (may carry @c.us / @s.whatsapp.net)
    contato_nome: str
    topico: str
    desfecho: str
    mensagens: list[tuple[str, str, int]] = field(default_factory=list)  # role, content, ts_ms
    modelo_usado: str = ""
    avaliacao: str | None = None
    avaliado_por: str | None = None
    avaliado_em_ms: int | None = None

    @property
    def inicio_ms(self) -> int:
        return self.mensagens[0][2]

    @property
    def fim_ms(self) -> int:
        return self.mensagens[-1][2]

    def status(self, agora_ms: int) -> str:
        if self.mensagens[-1][0] == "user":
            return "aguardando"
        return "ativa" if agora_ms - self.fim_ms < INATIVIDADE_MS else "finalizada"


def default_anchor() -> dt.datetime:
    """Today's local midnight (naive UTC): runs on the same day give identical data."""
    return local_midnight_utc(local_day(utcnow()))


# --- personal data typed by customers ---------------------------------------------------

def _cpf(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(9)]
    for size in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(size + 1, 1, -1)))
        digits.append((total * 10 % 11) % 10)
    s = "".join(map(str, digits))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"


def _telefone(rng: random.Random) -> str:
    ddd = rng.choice(C.DDDS)
    n = f"9{rng.randrange(10**8):08d}"
    return rng.choice([f"({ddd}) {n[:5]}-{n[5:]}", f"{ddd}{n}", f"+55 {ddd} {n[:5]}-{n[5:]}"])


def _email(rng: random.Random, nome: str, sobrenome: str) -> str:
    base = f"{nome}.{sobrenome}".lower()
    base = base.translate(str.maketrans("áãâéêíóôõúçÁ", "aaaeeiooouca"))
    return f"{base}{rng.randrange(100)}@{rng.choice(C.DOMINIOS)}"


# --- the generator ------------------------------------------------------------------------

class _Contatos:
    """Unique WhatsApp numbers per cliente with a name and an e-mail."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.usados: set[str] = set()

    def novo(self) -> tuple[str, str, str, str]:
        rng = self.rng
        while True:
            numero = f"55{rng.choice(C.DDDS)}9{rng.randrange(10**8):08d}"
            if numero not in self.usados:
                self.usados.add(numero)
                break
        nome, sobrenome = rng.choice(C.NOMES), rng.choice(C.SOBRENOMES)
        sufixo = rng.choices(["", "@c.us", "@s.whatsapp.net"], weights=[80, 15, 5])[0]
        return numero, numero + sufixo, f"{nome} {sobrenome}", _email(rng, nome, sobrenome)


def _contexto(rng: random.Random, cliente: dict, email: str) -> dict:
    fatos = cliente["fatos"]
    produto, preco = rng.choice(fatos["precos"])
    ctx = dict(fatos)
    ctx.update(
        nome=cliente["nome"], produto=produto, preco=preco,
        pedido=f"#{rng.randrange(10000, 99999)}", cpf=_cpf(rng), email=email,
        telefone=_telefone(rng), cep=f"{rng.randrange(10000, 99999)}-{rng.randrange(1000):03d}",
        data=f"{rng.randrange(1, 28):02d}/{rng.randrange(1, 13):02d}",
        protocolo=f"{rng.randrange(10**7, 10**8)}",
        entrega_cap=fatos["entrega"][0].upper() + fatos["entrega"][1:],
        rastreio_cap=fatos["rastreio"][0].upper() + fatos["rastreio"][1:],
        atendente_cap=fatos["atendente"][0].upper() + fatos["atendente"][1:],
    )
    ctx["cpf_digitos"] = ctx["cpf"].replace(".", "").replace("-", "")
    return ctx


def _sem_acentos(texto: str) -> str:
    return texto.translate(str.maketrans("áàãâéêíóôõúçÁÉÍÓÚÇ", "aaaaeeiooouc" + "AEIOUC"))


def _falas(rng: random.Random, topico: str, desfecho: str, ctx: dict) -> list[tuple[str, str]]:
    """The turns of one conversa as (role, template) pairs."""
    pick = rng.choice
    pergunta = pick(C.PERGUNTAS[topico])
    resposta = pick(C.RESPOSTAS[topico])
    falas: list[tuple[str, str]] = []
    if rng.random() < 0.7:
        falas += [("user", pick(C.SAUDACOES)), ("assistant", pick(C.BOAS_VINDAS))]
    falas.append(("user", pergunta))
    if desfecho == "boa":
        falas.append(("assistant", resposta))
        for _ in range(rng.choices([0, 1, 2, 3], weights=[25, 40, 25, 10])[0]):
            falas.append(("user", pick(C.SEGUIMENTOS[topico])))
            extra = C.RESPOSTAS_SEGUIMENTO.get(topico) or C.RESPOSTAS[topico]
            falas.append(("assistant", pick(extra)))
        falas += [("user", pick(C.AGRADECIMENTOS)), ("assistant", pick(C.DESPEDIDAS))]
    elif desfecho == "fallback":
        falas.append(("assistant", pick(C.FALLBACKS)))
        if rng.random() < 0.6:
            falas += [("user", pick(C.SEGUIMENTOS[topico])), ("assistant", pick(C.FALLBACKS))]
        falas.append(("user", pick(C.NEUTROS)))
        if rng.random() < 0.5:
            falas.append(("assistant", pick(C.DESPEDIDAS)))
    elif desfecho == "vaga":
        falas.append(("assistant", pick(C.VAGAS)))
        falas += [("user", pick(C.SEGUIMENTOS[topico])), ("assistant", pick(C.VAGAS))]
        falas += [("user", pick(C.NEUTROS)), ("assistant", pick(C.DESPEDIDAS))]
    elif desfecho == "irritado":
        falas.append(("assistant", pick(C.FALLBACKS + C.VAGAS)))
        falas += [("user", pick(C.IRRITADOS)), ("assistant", pick(C.DESCULPAS))]
        if rng.random() < 0.5:
            falas += [("user", pick(C.IRRITADOS)), ("assistant", pick(C.DESCULPAS))]
    elif desfecho == "humano":
        falas.append(("assistant", pick(C.VAGAS + C.FALLBACKS)))
        falas += [("user", pick(C.PEDE_HUMANO)), ("assistant", pick(C.RECUSA_HUMANO))]
        falas += [("user", pick(C.PEDE_HUMANO)), ("assistant", pick(C.RECUSA_HUMANO))]
    elif desfecho == "repetiu":
        falas.append(("assistant", pick(C.VAGAS)))
        falas += [("user", pick(C.REPETE_PREFIXO) + pergunta), ("assistant", pick(C.FALLBACKS))]
        falas += [("user", pick(C.REPETE_PREFIXO) + pergunta), ("assistant", pick(C.VAGAS))]
    elif desfecho == "sem_resposta":
        if rng.random() < 0.5:
            falas += [("assistant", resposta), ("user", pick(C.SEGUIMENTOS[topico]))]
    return falas


def _render(rng: random.Random, falas: list[tuple[str, str]], ctx: dict) -> list[tuple[str, str]]:
    out = []
    for role, template in falas:
        content = template.format_map(ctx)
        if role == "user" and rng.random() < 0.12:
            content = _sem_acentos(content).lower()
        out.append((role, content.strip()))
    return out


def _avaliar(rng: random.Random, conversa: DemoConversa, agora_ms: int) -> None:
    """About a third of the conversas are already rated, mostly in line with how they went."""
    if conversa.desfecho == "sem_resposta" or rng.random() >= 0.35:
        return
    boa = conversa.desfecho == "boa"
    acerta = rng.random() < 0.9
    conversa.avaliacao = ("boa" if boa else "ruim") if acerta else ("ruim" if boa else "boa")
    conversa.avaliado_por = rng.choice(C.AVALIADORES)
    conversa.avaliado_em_ms = min(agora_ms, conversa.fim_ms + rng.randrange(600_000, 3 * DIA_MS))


def _modelo(cliente: dict, inicio_ms: int, anchor_ms: int) -> str:
    # The fine-tuned model (when there is one) went live 20 days before the anchor.
    if cliente.get("modelo_ativo") and inicio_ms >= anchor_ms - 20 * DIA_MS:
        return cliente["modelo_ativo"]
    return cliente["modelo_base"]


def generate_conversations(n: int, seed: int = 42, anchor: dt.datetime | None = None,
                           clientes: list[dict] | None = None) -> Iterator[DemoConversa]:
    """n demo conversas over the ~62 days before `anchor` (naive UTC), deterministic."""
    rng = random.Random(seed)
    clientes = clientes or C.CLIENTES
    anchor_ms = to_epoch_ms(anchor or default_anchor())
    inicio_janela = anchor_ms - JANELA_DIAS * DIA_MS
    contatos = {c["slug"]: _Contatos(rng) for c in clientes}
    pesos = [4, 3, 2, 2][: len(clientes)] + [2] * max(0, len(clientes) - 4)
    feitos = 0
    while feitos < n:
        cliente = rng.choices(clientes, weights=pesos)[0]
        numero, bruto, nome, email = contatos[cliente["slug"]].novo()
        quantas = min(n - feitos, rng.choices([1, 2, 3, 4], weights=[60, 25, 10, 5])[0])
        inicios = sorted(rng.randrange(inicio_janela, anchor_ms - 3_600_000) for _ in range(quantas))
        proximo_livre = 0
        for inicio in inicios:
            inicio = max(inicio, proximo_livre)
            conversa = _uma_conversa(rng, cliente, numero, bruto, nome, email, inicio, anchor_ms)
            proximo_livre = conversa.fim_ms + INATIVIDADE_MS + rng.randrange(60_000, DIA_MS)
            feitos += 1
            yield conversa


def _uma_conversa(rng, cliente, numero, bruto, nome, email, inicio, anchor_ms) -> DemoConversa:
    topico = rng.choice(TOPICOS)
    desfecho = rng.choice(DESFECHOS)
    if topico == "atendente" and desfecho == "humano":
        desfecho = "boa"
    ctx = _contexto(rng, cliente, email)
    falas = _render(rng, _falas(rng, topico, desfecho, ctx), ctx)
    ts = inicio
    mensagens = []
    for role, content in falas:
        mensagens.append((role, content, ts))
        ts += rng.randrange(1_000, 6_000) if role == "user" else rng.randrange(8_000, 240_000)
    conversa = DemoConversa(
        cliente_slug=cliente["slug"], whatsapp=numero, whatsapp_bruto=bruto, contato_nome=nome,
        topico=topico, desfecho=desfecho, mensagens=mensagens,
        modelo_usado=_modelo(cliente, inicio, anchor_ms),
    )
    _avaliar(rng, conversa, anchor_ms)
    return conversa


# --- writers ------------------------------------------------------------------------------

@dataclass
class DemoSummary:
    conversas: int = 0
    mensagens: int = 0
    clientes: int = 0
    chaves_redis: int = 0
    expiradas: int = 0
    colisoes: int = 0


def ensure_demo_clientes(engine: Engine, clientes: list[dict] | None = None) -> dict[str, int]:
    """Create the demo clientes that are missing; returns slug -> id."""
    from core.clientes.dados_proprios import DadosProprios, dados_proprios, update_dados_proprios
    from core.clientes.directory import ensure_cliente
    from core.db import session_scope

    ids = {}
    with session_scope(engine) as session:
        for c in clientes or C.CLIENTES:
            cliente = ensure_cliente(
                session, c["slug"], c["nome"], whatsapp=c["whatsapp"],
                system_prompt=c["system_prompt"], modelo_base=c["modelo_base"],
                modelo_ativo=c["modelo_ativo"],
            )
            if c.get("dados_proprios") and dados_proprios(cliente).vazio:
                update_dados_proprios(session, cliente, DadosProprios(**c["dados_proprios"]))
            ids[c["slug"]] = cliente.id
    return ids


def has_conversations(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.scalar(select(Conversa.id).limit(1)) is not None


def delete_demo_data(engine: Engine) -> None:
    """Remove the demo clientes and everything that hangs off them."""
    slugs = [c["slug"] for c in C.CLIENTES]
    with engine.begin() as conn:
        ids = list(conn.scalars(select(Cliente.id).where(Cliente.slug.in_(slugs))))
        if not ids:
            return
        for table in ("fine_tuning_jobs",):
            conn.execute(text(f"DELETE FROM {table} WHERE cliente_id IN ({','.join(map(str, ids))})"))
        conn.execute(delete(Cliente).where(Cliente.id.in_(ids)))


def load_database(engine: Engine, conversas: Iterable[DemoConversa], anchor: dt.datetime,
                  chunk: int = 20_000) -> DemoSummary:
    """Write demo conversas and their messages in bulk, in chunks of `chunk` conversas."""
    ids = ensure_demo_clientes(engine)
    anchor_ms = to_epoch_ms(anchor)
    summary = DemoSummary(clientes=len(ids))
    with engine.connect() as conn:
        next_id = (conn.scalar(select(func.max(Conversa.id))) or 0) + 1
    iterator = iter(conversas)
    while batch := list(islice(iterator, chunk)):
        rows_c, rows_m = _rows(batch, ids, next_id, anchor_ms)
        next_id += len(batch)
        if engine.dialect.name == "postgresql":
            _copy_postgres(engine, rows_c, rows_m)
        else:
            _insert_sqlite(engine, rows_c, rows_m)
        summary.conversas += len(rows_c)
        summary.mensagens += len(rows_m)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('conversas', 'id'),"
                              " (SELECT COALESCE(max(id), 1) FROM conversas))"))
    update_search(engine)
    return summary


CONVERSA_COLS = ("id", "cliente_id", "whatsapp", "contato_nome", "iniciada_em",
                 "ultima_mensagem_em", "dia", "status", "modelo_usado", "total_mensagens",
                 "avaliacao", "avaliado_em", "avaliado_por")
MENSAGEM_COLS = ("conversa_id", "cliente_id", "role", "conteudo", "enviada_em", "redis_key", "modelo")


def _rows(batch: list[DemoConversa], ids: dict[str, int], first_id: int, anchor_ms: int):
    rows_c, rows_m = [], []
    for offset, c in enumerate(batch):
        conversa_id = first_id + offset
        cliente_id = ids[c.cliente_slug]
        inicio = from_epoch_ms(c.inicio_ms)
        rows_c.append((
            conversa_id, cliente_id, c.whatsapp, c.contato_nome, inicio, from_epoch_ms(c.fim_ms),
            local_day(inicio), c.status(anchor_ms), c.modelo_usado, len(c.mensagens), c.avaliacao,
            from_epoch_ms(c.avaliado_em_ms) if c.avaliado_em_ms else None, c.avaliado_por,
        ))
        for role, content, ts in c.mensagens:
            rows_m.append((conversa_id, cliente_id, role, content, from_epoch_ms(ts),
                           f"conversation:{c.whatsapp_bruto}:{ts}",
                           c.modelo_usado if role == "assistant" else None))
    return rows_c, rows_m


def _copy_postgres(engine: Engine, rows_c: list[tuple], rows_m: list[tuple]) -> None:
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            with cur.copy(f"COPY conversas ({', '.join(CONVERSA_COLS)}) FROM STDIN") as copy:
                for row in rows_c:
                    copy.write_row(row)
            with cur.copy(f"COPY mensagens ({', '.join(MENSAGEM_COLS)}) FROM STDIN") as copy:
                for row in rows_m:
                    copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def _insert_sqlite(engine: Engine, rows_c: list[tuple], rows_m: list[tuple]) -> None:
    marks_c = ", ".join("?" * len(CONVERSA_COLS))
    marks_m = ", ".join("?" * len(MENSAGEM_COLS))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.executemany(f"INSERT INTO conversas ({', '.join(CONVERSA_COLS)}) VALUES ({marks_c})",
                        [_sqlite_row(r) for r in rows_c])
        cur.executemany(f"INSERT INTO mensagens ({', '.join(MENSAGEM_COLS)}) VALUES ({marks_m})",
                        [_sqlite_row(r) for r in rows_m])
        raw.commit()
    finally:
        raw.close()


def _sqlite_row(row: tuple) -> tuple:
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text; match it.
    return tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, dt.datetime)
                 else v.isoformat() if isinstance(v, dt.date) else v for v in row)


# --- Redis, in the bot's own format ---------------------------------------------------------

UNRELATED_KEYS = ("first_message_{n}", "tracking_{n}", "waiting_cpf_{n}", "pending_order_{n}")


def load_redis(client, conversas: Iterable[DemoConversa], prefix: str = "", seed: int = 42,
               now_ms: int | None = None, batch: int = 5_000) -> DemoSummary:
    """Write conversas as the bot does: SET conversation:{from}:{ts} with a 60-day expiry,
    RPUSH the key to user_messages:{from} and all_conversations (lists of keys)."""
    rng = random.Random(seed + 1)
    now_ms = now_ms or to_epoch_ms(utcnow())
    summary = DemoSummary()
    pipe = client.pipeline(transaction=False)
    listas: set[str] = set()
    pending = 0
    for conversa in conversas:
        summary.conversas += 1
        for role, content, ts, payload_extra in _bot_messages(rng, conversa, summary):
            key = f"{prefix}conversation:{conversa.whatsapp_bruto}:{ts}"
            payload = {"role": role, "content": content, "timestamp": ts,
                       "phoneNumber": conversa.whatsapp_bruto, **payload_extra}
            ttl = ts + TTL_MS - now_ms
            if ttl > 0:
                pipe.set(key, json.dumps(payload, ensure_ascii=False), px=ttl)
                summary.mensagens += 1
            else:
                summary.expiradas += 1
            lista = f"{prefix}user_messages:{conversa.whatsapp_bruto}"
            pipe.rpush(lista, key)
            pipe.rpush(f"{prefix}all_conversations", key)
            listas.add(lista)
            summary.chaves_redis += 1
            pending += 3
        if rng.random() < 0.2:
            pipe.set(prefix + rng.choice(UNRELATED_KEYS).format(n=conversa.whatsapp_bruto), "1",
                     ex=3600 * 24)
        if pending >= batch:
            pipe.execute()
            pending = 0
    for lista in [*sorted(listas), f"{prefix}all_conversations"]:
        pipe.expire(lista, TTL_MS // 1000)
    pipe.execute()
    return summary


def _bot_messages(rng: random.Random, conversa: DemoConversa, summary: DemoSummary):
    """The conversa's messages as Redis will keep them, with same-millisecond collisions."""
    previous_ts = None
    for role, content, ts in conversa.mensagens:
        extra = {}
        if role == "assistant":
            if previous_ts is not None and rng.random() < 0.01:
                ts = previous_ts  # Date.now() twice in one ms: the answer overwrites the question
                summary.colisoes += 1
            if rng.random() < 0.3:
                extra = {"model": conversa.modelo_usado}
        previous_ts = ts
        yield role, content, ts, extra


def dump_jsonl(conversas: Iterable[DemoConversa]) -> str:
    """A canonical text form of the data (for determinism checks)."""
    out = io.StringIO()
    for c in conversas:
        out.write(json.dumps(c.__dict__, ensure_ascii=False, sort_keys=True) + "\n")
    return out.getvalue()
