"""Search documents: word forms on both databases, and a queue of documents to build.

PostgreSQL indexes `to_tsvector('portuguese', unaccent(text))`, kept by 0004's statement
triggers on `mensagens` inside the import's own (parallel) writers. SQLite's FTS5 has no
Portuguese stemmer, so its index receives, for each word of the text, the Snowball
Portuguese stem of the word (the algorithm PostgreSQL's `portuguese_stem` uses), one
token per word in the same order (`terms_of`); the FTS5 table reads its content from
`conversas_busca.documento`, the original text, so `snippet()` shows the original words
and highlights the ones at the matched positions. Queries drop PostgreSQL's Portuguese
stop words and stem the rest the same way, so both databases find the same conversas.

Stems are computed in Python, so on SQLite the triggers on `mensagens` only put the
conversa in `busca_pendentes` (migration 0016) and `update_search` rebuilds each queued
conversa's document from all its messages, in batches, taking it off the queue in the
same transaction. The import calls it before it ends (a search right after an import
finds what it brought), as does each poller cycle; the page says when the queue is not
empty (`search_behind_since`). A document is always rebuilt from every message of the
conversa, never appended to, so it is either the previous whole text or the current one.
On PostgreSQL the queue is only filled by hand (update_search rebuilds those in SQL).
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import threading
import unicodedata

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.dialects import sqlite as sqlite_dialect

from core.db.tables import Conversa, Mensagem
from core.db.tables_busca import BuscaPendente, ConversaBusca

log = logging.getLogger("curadoria.review")

# Highlight markers of snippets: private-use characters, removed from every document, so
# any marker in a snippet was put there by ts_headline / snippet() around a matched word.
HL_START, HL_END = "\ue000", "\ue001"
_NO_MARKERS = str.maketrans("", "", HL_START + HL_END)
BATCH = 2_000
_WORD = re.compile(r"[^\W_]+")

# PostgreSQL's portuguese.stop, the entries without accents (documents and queries are
# unaccented before the stop list is applied, so the accented entries never match).
STOP_WORDS = frozenset("""
de a o que e do da em um para com uma os no se na por mais as dos como mas ao ele das seu sua
ou quando muito nos eu pelo pela isso ela entre depois sem mesmo aos seus quem nas me esse eles
essa num nem suas meu minha numa pelos elas qual lhe deles essas esses pelas este dele tu te vos
lhes meus minhas teu tua teus tuas nosso nossa nossos nossas dela delas esta estes estas aquele
aquela aqueles aquelas isto aquilo estou estamos estive esteve estivemos estiveram estava
estavam estivera esteja estejamos estejam estivesse estivessem estiver estivermos estiverem hei
havemos houve houvemos houveram houvera haja hajamos hajam houvesse houvessem houver houvermos
houverem houverei houveremos houveria houveriam sou somos era eram fui foi fomos foram fora seja
sejamos sejam fosse fossem for formos forem serei seremos seria seriam tenho tem temos tinha
tinham tive teve tivemos tiveram tivera tenha tenhamos tenham tivesse tivessem tiver tivermos
tiverem terei teremos teria teriam
""".split())

_local = threading.local()


def _fold(word: str) -> str:
    """Lower case without accents (what unaccent + lower do on PostgreSQL)."""
    plain = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in plain if not unicodedata.combining(c))


@functools.lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """The Snowball Portuguese stem of a word, folded; always one FTS5 token."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:  # Snowball stemmers keep state: one per thread
        import snowballstemmer

        stemmer = _local.stemmer = snowballstemmer.stemmer("portuguese")
    folded = "".join(_WORD.findall(_fold(word)))
    return stemmer.stemWord(folded) if folded else "x"


def terms_of(texto: str) -> str:
    """The stems of a text's words, one per word, in order (what SQLite's FTS5 indexes)."""
    return " ".join(stem(w) for w in _WORD.findall(texto))


def query_stems(busca: str) -> list[str]:
    """The stems a search looks for: its words without stop words, each once."""
    stems: list[str] = []
    for word in _WORD.findall(busca):
        folded = _fold(word)
        if folded in STOP_WORDS:
            continue
        s = stem(word)
        if s not in stems:
            stems.append(s)
    return stems


def document_text(contents) -> str:
    """A conversa's searchable text: its messages in order, without highlight markers."""
    return unicodedata.normalize("NFC", " ".join(contents)).translate(_NO_MARKERS)


# --- catch-up -----------------------------------------------------------------------------

def update_search(engine: Engine) -> int:
    """Rebuild every queued conversa's document; returns how many were rebuilt.

    One transaction per batch. On PostgreSQL rows another transaction holds (an import
    writing the same conversa right now) are skipped and stay queued for the next call.
    """
    done = 0
    while True:
        with engine.begin() as conn:
            n, more = refresh_batch(conn)
        done += n
        if not more:
            return done


def refresh_all(conn: Connection) -> int:
    """Rebuild every queued document inside the caller's transaction (tests, migrations)."""
    done = 0
    while True:
        n, more = refresh_batch(conn)
        done += n
        if not more:
            return done


def refresh_batch(conn: Connection, limit: int = BATCH) -> tuple[int, bool]:
    """Rebuild up to `limit` queued documents; (how many, whether a full batch was taken)."""
    if conn.dialect.name == "postgresql":
        return _refresh_postgres(conn, limit)
    return _refresh_sqlite(conn, limit)


def _refresh_postgres(conn: Connection, limit: int) -> tuple[int, bool]:
    # Claim: queued rows locked by nobody else. A writer marking one of them meanwhile waits
    # for this transaction and then queues it again (its ON CONFLICT DO UPDATE needs the
    # row lock), so messages this rebuild cannot see are never taken off the queue.
    claimed = [r[0] for r in conn.exec_driver_sql(
        "SELECT conversa_id FROM busca_pendentes ORDER BY conversa_id LIMIT %(n)s "
        "FOR UPDATE SKIP LOCKED", {"n": limit})]
    if not claimed:
        return 0, False
    # Documents a running import's triggers are updating right now wait for the next call.
    existing = {r[0] for r in conn.exec_driver_sql(
        "SELECT conversa_id FROM conversas_busca WHERE conversa_id = ANY(%(ids)s)",
        {"ids": claimed})}
    free = {r[0] for r in conn.exec_driver_sql(
        "SELECT conversa_id FROM conversas_busca WHERE conversa_id = ANY(%(ids)s) "
        "ORDER BY conversa_id FOR UPDATE SKIP LOCKED", {"ids": sorted(existing)})}
    ids = [i for i in claimed if i not in existing or i in free]
    if ids:
        conn.exec_driver_sql("""
            INSERT INTO conversas_busca AS b
                (conversa_id, cliente_id, iniciada_em, status, avaliacao, documento)
            SELECT c.id, c.cliente_id, c.iniciada_em, c.status, c.avaliacao, d.documento
            FROM (SELECT conversa_id,
                         curadoria_documento(string_agg(conteudo, ' ' ORDER BY enviada_em, id))
                             AS documento
                  FROM mensagens WHERE conversa_id = ANY(%(ids)s) GROUP BY conversa_id) AS d
            JOIN conversas c ON c.id = d.conversa_id
            ORDER BY c.id
            ON CONFLICT (conversa_id) DO UPDATE SET
                documento = EXCLUDED.documento, cliente_id = EXCLUDED.cliente_id,
                iniciada_em = EXCLUDED.iniciada_em, status = EXCLUDED.status,
                avaliacao = EXCLUDED.avaliacao""", {"ids": ids})
        conn.exec_driver_sql(
            "DELETE FROM conversas_busca b WHERE b.conversa_id = ANY(%(ids)s) AND NOT EXISTS "
            "(SELECT 1 FROM mensagens m WHERE m.conversa_id = b.conversa_id)", {"ids": ids})
        conn.exec_driver_sql("DELETE FROM busca_pendentes WHERE conversa_id = ANY(%(ids)s)",
                             {"ids": ids})
    return len(ids), len(claimed) == limit and bool(ids)


def _refresh_sqlite(conn: Connection, limit: int) -> tuple[int, bool]:
    # A write first: SQLite takes its write lock before anything is read.
    ids = sorted(r[0] for r in conn.execute(text(
        "DELETE FROM busca_pendentes WHERE conversa_id IN (SELECT conversa_id FROM "
        "busca_pendentes ORDER BY conversa_id LIMIT :n) RETURNING conversa_id"), {"n": limit}))
    if not ids:
        return 0, False
    contents: dict[int, list[str]] = {}
    for conversa_id, conteudo in conn.execute(
            select(Mensagem.conversa_id, Mensagem.conteudo).where(Mensagem.conversa_id.in_(ids))
            .order_by(Mensagem.conversa_id, Mensagem.enviada_em, Mensagem.id)):
        contents.setdefault(conversa_id, []).append(conteudo)
    rows = []
    for c in conn.execute(select(Conversa.id, Conversa.cliente_id, Conversa.iniciada_em,
                                 Conversa.status, Conversa.avaliacao)
                          .where(Conversa.id.in_(list(contents)))):
        documento = document_text(contents[c.id])
        rows.append({"conversa_id": c.id, "cliente_id": c.cliente_id,
                     "iniciada_em": c.iniciada_em, "status": c.status, "avaliacao": c.avaliacao,
                     "documento": documento, "termos": terms_of(documento)})
    empty = [i for i in ids if i not in contents]
    if empty:
        conn.execute(ConversaBusca.__table__.delete().where(ConversaBusca.conversa_id.in_(empty)))
    if rows:
        stmt = sqlite_dialect.insert(ConversaBusca.__table__)
        stmt = stmt.on_conflict_do_update(index_elements=["conversa_id"], set_={
            col: stmt.excluded[col] for col in ("cliente_id", "iniciada_em", "status",
                                                "avaliacao", "documento", "termos")})
        conn.execute(stmt, rows)
    return len(ids), len(ids) == limit


def search_behind_since(conn_or_session) -> dt.datetime | None:
    """When the oldest change not yet in the search index was made (None: up to date)."""
    return conn_or_session.scalar(select(func.min(BuscaPendente.marcada_em)))
