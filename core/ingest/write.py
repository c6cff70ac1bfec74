"""Writing what was read: one chunk per transaction under a per-cliente lock (on PostgreSQL,
binary COPY and day shards written in parallel), the conversas' counts and status, rejected
entries, the run's progress, and closing conversas whose window has passed (_finish).
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, and_, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from core.clock import from_epoch_ms, local_day, to_epoch_ms, utcnow
from core.db.tables import Conversa, EntradaRejeitada, Importacao, Mensagem
from core.ingest.parse import ROLE, TS, WHEN, Message, Rejected, _naive_utc, derive_status
from core.ingest.source import Groups, _Batch
from core.ingest.summary import IngestSummary

if TYPE_CHECKING:  # the run is core.ingest.pipeline's; only its type is needed here
    from core.ingest.pipeline import _Run

ADVISORY_NAMESPACE = 7303  # pg_advisory_xact_lock(namespace, cliente_id)


def _count_read(summary: IngestSummary, batch: _Batch) -> None:
    summary.lidas += batch.lidas
    summary.duplicadas += batch.duplicadas
    summary.expiradas += batch.expiradas
    for item in batch.rejected:
        summary.rejeitadas[item.motivo] = summary.rejeitadas.get(item.motivo, 0) + 1



# --- writing one chunk ------------------------------------------------------------------

@dataclass(slots=True)
class _NewConversa:
    whatsapp: str
    messages: list[Message]
    modelo_usado: str
    id: int | None = None
    created: bool = False  # inserted by this run (not found already there)


@dataclass(slots=True)
class _Extension:
    conversa_id: int
    ultima_ms: int
    messages: list[Message]
    dia: dt.date  # the conversa's rollup day, as stored


# PostgreSQL: each chunk is written over this many connections at once, one per shard of
# local days (day ordinal modulo WRITER_SHARDS). Almost all of an import's time is
# PostgreSQL's per-row work (indexes, foreign keys, the search-index and analysis-queue
# triggers) and one connection uses one core; shards by day because the rollup trigger
# locks one conversas_resumo row per (cliente, day, status, rating) until commit, so
# shards by number would wait for each other there. Every row a shard writes or locks
# belongs to its days' conversas: the shards never wait for each other.
WRITER_SHARDS = 2
# Lock waits on a shard's connection end in an error instead of a hang (they cannot
# happen by construction; this is the safety net against a cycle through Python).
SHARD_LOCK_TIMEOUT = "120s"


def _write_chunk(run: _Run, batch: _Batch) -> None:
    """Write one batch under the per-cliente lock, with the cursor.

    On SQLite (and for a small chunk) in one transaction. On PostgreSQL the conversas of
    other day shards go through their own connections, in parallel, each in its own
    transaction committed before this one: if this one then fails, the position is not
    saved and the next run re-reads the chunk, which the unique keys make harmless.
    """
    with run.engine.begin() as conn:
        _lock_cliente(conn, run)
        new, extensions = _plan(conn, run, batch.numbers)
        parts = [part for part in _shards(run, new, extensions) if part[0] or part[1]] or [([], [])]
        futures: list[Future] = []
        if run.pool is not None:
            futures = [run.pool.submit(_write_shard, run, *part) for part in parts[1:]]
            parts = parts[:1]
        counts: list[IngestSummary] = []
        errors: list[Exception] = []
        try:
            counts.extend(_write_part(conn, run, *part) for part in parts)
        finally:
            for future in futures:  # never leave a shard running past this transaction
                try:
                    counts.append(future.result())
                except Exception as exc:  # noqa: BLE001 - re-raised below
                    errors.append(exc)
        if errors:
            raise errors[0]
        for part in counts:
            _add_counts(run.summary, part)
        _insert_rejected(conn, run, batch.rejected)
        _count_read(run.summary, batch)
        _save_progress(conn, run, batch.position)


def _shards(run: _Run, new: list[_NewConversa], extensions: list[_Extension]
            ) -> list[tuple[list[_NewConversa], list[_Extension]]]:
    """The chunk's conversas by day shard (one shard unless a pool of writers exists)."""
    if run.pool is None or len(new) + len(extensions) < 2 * WRITER_SHARDS:
        return [(new, extensions)]
    parts: list[tuple[list[_NewConversa], list[_Extension]]] = [([], []) for _ in range(WRITER_SHARDS)]
    for conversa in new:  # stays sorted within each shard
        parts[_local_day(run, conversa.messages[0][TS]).toordinal() % WRITER_SHARDS][0].append(conversa)
    for extension in extensions:
        parts[extension.dia.toordinal() % WRITER_SHARDS][1].append(extension)
    return parts


def _write_shard(run: _Run, new: list[_NewConversa], extensions: list[_Extension]) -> IngestSummary:
    with run.engine.begin() as conn:
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{SHARD_LOCK_TIMEOUT}'")
        return _write_part(conn, run, new, extensions)


def _write_part(conn: Connection, run: _Run, new: list[_NewConversa], extensions: list[_Extension]
                ) -> IngestSummary:
    """Conversas, messages and counts of (a shard of) a chunk; returns what it added."""
    counts = IngestSummary(cliente=run.summary.cliente)
    _insert_conversas(conn, run, new)
    rows = _message_rows(run, new, extensions)
    inserted = _insert_mensagens(conn, rows)
    _apply_counts(conn, run, counts, new, extensions, rows, inserted)
    return counts


def _add_counts(summary: IngestSummary, part: IngestSummary) -> None:
    summary.mensagens_novas += part.mensagens_novas
    summary.conversas_novas += part.conversas_novas
    summary.conversas_estendidas += part.conversas_estendidas
    summary.duplicadas += part.duplicadas


def _lock_cliente(conn: Connection, run: _Run) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:ns, :id)"),
                     {"ns": ADVISORY_NAMESPACE, "id": run.cliente_id})
    else:
        # A write first, so SQLite takes its write lock before anything is read.
        conn.execute(update(Importacao).where(Importacao.id == run.importacao_id)
                     .values(posicao_final=Importacao.posicao_final))


def _plan(conn: Connection, run: _Run, numbers: list[tuple[str, Groups]]
          ) -> tuple[list[_NewConversa], list[_Extension]]:
    """The reader split each number's messages; the first group extends the number's open conversa."""
    latest = _latest_conversas(conn, run.cliente_id, [whatsapp for whatsapp, _ in numbers])
    new: list[_NewConversa] = []
    extensions: list[_Extension] = []
    for whatsapp, groups in numbers:
        first = 0
        previous = latest.get(whatsapp)
        if previous is not None:
            conversa_id, inicio_ms, ultima_ms, dia = previous
            if inicio_ms <= groups[0][0][0][TS] <= ultima_ms + run.gap_ms:
                extensions.append(_Extension(conversa_id, ultima_ms, groups[0][0], dia))
                first = 1
        new.extend(_NewConversa(whatsapp, messages, modelo) for messages, modelo in groups[first:])
    new.sort(key=lambda c: (c.whatsapp, c.messages[0][TS]))  # one insert order for every run
    return new, extensions


def _latest_conversas(conn: Connection, cliente_id: int, numbers: list[str]
                      ) -> dict[str, tuple[int, int, int, dt.date]]:
    """number -> (id, start ms, last message ms, day) of its most recent conversa."""
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT DISTINCT ON (whatsapp) id, whatsapp, iniciada_em, ultima_mensagem_em, dia "
            "FROM conversas WHERE cliente_id = %(c)s AND whatsapp = ANY(%(n)s) "
            "ORDER BY whatsapp, iniciada_em DESC", {"c": cliente_id, "n": numbers})
        return {r.whatsapp: (r.id, to_epoch_ms(r.iniciada_em), to_epoch_ms(r.ultima_mensagem_em), r.dia)
                for r in rows}
    result = {}
    for start in range(0, len(numbers), 5_000):
        chunk = numbers[start:start + 5_000]
        newest = (select(Conversa.whatsapp, func.max(Conversa.iniciada_em).label("inicio"))
                  .where(Conversa.cliente_id == cliente_id, Conversa.whatsapp.in_(chunk))
                  .group_by(Conversa.whatsapp).subquery())
        rows = conn.execute(
            select(Conversa.id, Conversa.whatsapp, Conversa.iniciada_em, Conversa.ultima_mensagem_em,
                   Conversa.dia)
            .join(newest, and_(Conversa.whatsapp == newest.c.whatsapp,
                               Conversa.iniciada_em == newest.c.inicio))
            .where(Conversa.cliente_id == cliente_id))
        for row in rows:
            result[row.whatsapp] = (row.id, to_epoch_ms(row.iniciada_em), to_epoch_ms(row.ultima_mensagem_em),
                                    row.dia)
    return result


def _dialect_insert(conn: Connection, table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _local_day(run: _Run, ts_ms: int) -> dt.date:
    # Time zone offsets are whole quarter hours, so one lookup per quarter hour is exact.
    quarter = ts_ms // 900_000
    day = run.days.get(quarter)
    if day is None:
        day = run.days[quarter] = local_day(_naive_utc(quarter * 900_000))
    return day


def _insert_conversas(conn: Connection, run: _Run, new: list[_NewConversa]) -> None:
    """Insert the new conversas (skipping any that exist) and learn every id."""
    if not new:
        return
    rows = []
    for conversa in new:
        first, last = conversa.messages[0], conversa.messages[-1]
        rows.append({
            "cliente_id": run.cliente_id, "whatsapp": conversa.whatsapp, "iniciada_em": first[WHEN],
            "ultima_mensagem_em": last[WHEN], "dia": _local_day(run, first[TS]),
            "status": derive_status(last[ROLE], last[TS], run.now_ms, run.gap_ms),
            "modelo_usado": conversa.modelo_usado,
            "total_mensagens": len(conversa.messages),
        })
    if conn.dialect.name == "postgresql":
        ids = _copy_new_conversas(conn, rows)
        if ids is not None:
            for conversa, conversa_id in zip(new, ids):
                conversa.id, conversa.created = conversa_id, True
            return
        # Some already exist (another run, or a re-read): insert the others, skip those.
        created = _copy_conversas(conn, rows)
    else:
        table = Conversa.__table__
        stmt = (_dialect_insert(conn, table)
                .on_conflict_do_nothing(index_elements=["cliente_id", "whatsapp", "iniciada_em"])
                .returning(table.c.id, table.c.whatsapp, table.c.iniciada_em))
        created = {(r.whatsapp, to_epoch_ms(r.iniciada_em)): r.id for r in conn.execute(stmt, rows)}
    for conversa in new:
        found = created.get((conversa.whatsapp, conversa.messages[0][TS]))
        if found is not None:
            conversa.id, conversa.created = found, True
        else:  # another run created it first: it is extended, not new
            conversa.id = conn.scalar(select(Conversa.id).where(
                Conversa.cliente_id == run.cliente_id, Conversa.whatsapp == conversa.whatsapp,
                Conversa.iniciada_em == from_epoch_ms(conversa.messages[0][TS])))


CONVERSA_COLS = ("cliente_id", "whatsapp", "iniciada_em", "ultima_mensagem_em", "dia", "status",
                 "modelo_usado", "total_mensagens")


CONVERSA_TYPES = ("int4", "varchar", "timestamp", "timestamp", "date", "varchar", "varchar", "int4")


def _copy_new_conversas(conn: Connection, rows: list[dict]) -> list[int] | None:
    """Binary COPY straight into conversas with ids taken from its sequence beforehand;
    the ids in the order of `rows`, or None (rolled back) if any of them already existed.

    The usual case, a first import of these messages, so it skips the temporary table and
    the INSERT ... ON CONFLICT ... RETURNING of `_copy_conversas` (the unique constraint
    still decides: a duplicate aborts the COPY and the slower path runs instead).
    """
    import psycopg

    ids = [row[0] for row in conn.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence('conversas', 'id')) "
        "FROM generate_series(1, %(n)s)", {"n": len(rows)})]
    savepoint = conn.begin_nested()
    try:
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy(f"COPY conversas (id, {', '.join(CONVERSA_COLS)}) FROM STDIN "
                          "(FORMAT BINARY)") as copy:
                copy.set_types(("int4", *CONVERSA_TYPES))
                for conversa_id, row in zip(ids, rows):
                    copy.write_row((conversa_id, *(row[c] for c in CONVERSA_COLS)))
    except psycopg.errors.UniqueViolation:
        savepoint.rollback()
        return None
    savepoint.commit()
    return ids


def _copy_conversas(conn: Connection, rows: list[dict]) -> dict[tuple[str, int], int]:
    """COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING RETURNING."""
    cols = ", ".join(CONVERSA_COLS)
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS ingest_conversas (cliente_id integer, whatsapp varchar(32), "
        "iniciada_em timestamp, ultima_mensagem_em timestamp, dia date, status varchar(20), "
        "modelo_usado varchar(200), total_mensagens integer) ON COMMIT DELETE ROWS")
    with conn.connection.driver_connection.cursor() as cur:
        with cur.copy(f"COPY ingest_conversas ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[c] for c in CONVERSA_COLS))
    result = conn.exec_driver_sql(
        f"INSERT INTO conversas ({cols}) SELECT {cols} FROM ingest_conversas "
        "ORDER BY whatsapp, iniciada_em "
        "ON CONFLICT (cliente_id, whatsapp, iniciada_em) DO NOTHING "
        "RETURNING id, whatsapp, iniciada_em")
    return {(r.whatsapp, to_epoch_ms(r.iniciada_em)): r.id for r in result}


def _message_rows(run: _Run, new: list[_NewConversa], extensions: list[_Extension]) -> list[tuple]:
    rows: list[tuple] = []
    append, cliente_id = rows.append, run.cliente_id
    groups = [(c.id, c.messages) for c in new] + [(e.conversa_id, e.messages) for e in extensions]
    for conversa_id, messages in groups:
        for role, content, when, key, modelo, _ts in messages:
            append((conversa_id, cliente_id, role, content, when, key, modelo))
    return rows


MENSAGEM_COLS = ("conversa_id", "cliente_id", "role", "conteudo", "enviada_em", "redis_key", "modelo")
MENSAGEM_TYPES = ("int4", "int4", "varchar", "text", "timestamp", "varchar", "varchar")


def _insert_mensagens(conn: Connection, rows: list[tuple]) -> set[str] | None:
    """Insert the messages; None when all went in, else the keys that did."""
    if not rows:
        return None
    if conn.dialect.name == "postgresql" and _copy_mensagens(conn, rows):
        return None
    table = Mensagem.__table__
    stmt = (_dialect_insert(conn, table)
            .on_conflict_do_nothing(index_elements=["cliente_id", "redis_key"])
            .returning(table.c.redis_key))
    keys = set(conn.scalars(stmt, [dict(zip(MENSAGEM_COLS, row)) for row in rows]))
    return None if len(keys) == len(rows) else keys


def _copy_mensagens(conn: Connection, rows: list[tuple]) -> bool:
    """COPY straight into mensagens; False (rolled back) if any key was already there.

    The unique constraint rejects the whole COPY on a duplicate, and then the slower
    INSERT ... ON CONFLICT DO NOTHING does the job: the database decides, not luck.
    """
    import psycopg

    savepoint = conn.begin_nested()
    try:
        with conn.connection.driver_connection.cursor() as cur:
            # Binary COPY: the server skips parsing text timestamps and numbers.
            with cur.copy(f"COPY mensagens ({', '.join(MENSAGEM_COLS)}) FROM STDIN "
                          "(FORMAT BINARY)") as copy:
                copy.set_types(MENSAGEM_TYPES)
                for row in rows:
                    copy.write_row(row)
    except psycopg.errors.UniqueViolation:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def _apply_counts(conn: Connection, run: _Run, summary: IngestSummary, new: list[_NewConversa],
                  extensions: list[_Extension], rows: list[tuple], inserted: set[str] | None) -> None:
    """Bring total, last message and status of every touched conversa up to date."""
    recount: set[int] = set()
    if inserted is None:
        summary.mensagens_novas += len(rows)
        created = [c for c in new if c.created]
        summary.conversas_novas += len(created)
        recount.update(c.id for c in new if not c.created)
        summary.conversas_estendidas += len(recount) + len(extensions)
        in_order = [e for e in extensions if e.messages[0][TS] >= e.ultima_ms]
        recount.update(e.conversa_id for e in extensions if e.messages[0][TS] < e.ultima_ms)
        _extend(conn, run, in_order)
    else:
        summary.mensagens_novas += len(inserted)
        summary.duplicadas += len(rows) - len(inserted)
        got = Counter(row[0] for row in rows if row[5] in inserted)
        summary.conversas_novas += sum(1 for c in new if c.created and got[c.id])
        summary.conversas_estendidas += sum(1 for c in new if not c.created and got[c.id])
        summary.conversas_estendidas += sum(1 for e in extensions if got[e.conversa_id])
        recount.update(c.id for c in new)
        recount.update(e.conversa_id for e in extensions)
        empty = [c.id for c in new if c.created and not got[c.id]]
        if empty:  # every message of it was already imported elsewhere
            conn.execute(Conversa.__table__.delete().where(Conversa.id.in_(empty)))
            recount.difference_update(empty)
    _recount(conn, run, sorted(recount))


def _extend(conn: Connection, run: _Run, extensions: list[_Extension]) -> None:
    """Later messages appended to open conversas (the lock makes the increments exact)."""
    if not extensions:
        return
    params = []
    for e in extensions:
        last = e.messages[-1]
        params.append({"cid": e.conversa_id, "n": len(e.messages), "ultima": from_epoch_ms(last[TS]),
                       "st": derive_status(last[ROLE], last[TS], run.now_ms, run.gap_ms)})
    table = Conversa.__table__
    conn.execute(
        update(table).where(table.c.id == bindparam("cid")).values(
            total_mensagens=table.c.total_mensagens + bindparam("n"),
            ultima_mensagem_em=bindparam("ultima"), status=bindparam("st")),
        params)


def _recount(conn: Connection, run: _Run, ids: list[int]) -> None:
    """Recompute totals, last message and status of these conversas from their messages."""
    limite = from_epoch_ms(run.now_ms - run.gap_ms)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        conn.execute(text(f"""
            UPDATE conversas SET
                total_mensagens = (SELECT count(*) FROM mensagens m WHERE m.conversa_id = conversas.id),
                ultima_mensagem_em = (SELECT max(m.enviada_em) FROM mensagens m
                                      WHERE m.conversa_id = conversas.id),
                status = CASE
                    WHEN (SELECT m.role FROM mensagens m WHERE m.conversa_id = conversas.id
                          ORDER BY m.enviada_em DESC, m.redis_key DESC LIMIT 1) = 'user'
                        THEN 'aguardando'
                    WHEN (SELECT max(m.enviada_em) FROM mensagens m
                          WHERE m.conversa_id = conversas.id) >= :limite THEN 'ativa'
                    ELSE 'finalizada' END
            WHERE id IN ({', '.join(str(int(i)) for i in chunk)})"""), {"limite": limite})


def _insert_rejected(conn: Connection, run: _Run, rejected: list[Rejected]) -> None:
    if not rejected:
        return
    table = EntradaRejeitada.__table__
    stmt = _dialect_insert(conn, table).on_conflict_do_nothing(index_elements=["cliente_id", "redis_key"])
    conn.execute(stmt, [{"cliente_id": run.cliente_id, "importacao_id": run.importacao_id,
                         "redis_key": r.key, "motivo": r.motivo, "trecho": r.trecho}
                        for r in rejected])


def _counters(summary: IngestSummary) -> dict:
    return {
        "lidas": summary.lidas, "mensagens_novas": summary.mensagens_novas,
        "conversas_novas": summary.conversas_novas,
        "conversas_estendidas": summary.conversas_estendidas,
        "duplicadas": summary.duplicadas, "expiradas": summary.expiradas,
        "rejeitadas": summary.total_rejeitadas,
        "rejeitadas_por_motivo": json.dumps(summary.rejeitadas, sort_keys=True),
    }


def _save_progress(conn: Connection, run: _Run, position: int) -> None:
    conn.execute(update(Importacao).where(Importacao.id == run.importacao_id)
                 .values(posicao_final=position, **_counters(run.summary)))


def _finish(run: _Run) -> None:
    """Close the run: counters, error, and conversas whose window has now passed."""
    summary = run.summary
    summary.concluida_em = utcnow()
    with run.engine.begin() as conn:
        conn.execute(update(Conversa.__table__).where(
            Conversa.cliente_id == run.cliente_id, Conversa.status == "ativa",
            Conversa.ultima_mensagem_em < from_epoch_ms(run.now_ms - run.gap_ms),
        ).values(status="finalizada"))
        conn.execute(update(Importacao).where(Importacao.id == run.importacao_id).values(
            concluida_em=summary.concluida_em, erro=summary.erro, **_counters(summary)))
