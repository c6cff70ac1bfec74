"""The training file: JSONL of a cliente's good conversas, validated, redacted and priced.

One streaming pass over the cliente's good conversas (ordered by conversa, then message
time) writes the training and validation files; memory does not grow with the number of
conversas (the duplicate check uses a fixed-size Bloom filter). The files uploaded by the
fine-tuning start are written by the same code as `python -m core export`.
One example is built and checked in core.training.examples; the report (skips, tokens,
cost) is core.training.report. A conversa with corrections (any rating) is left out of
the stream and written after it, ending with its last correction
(core.training.preference.corrected_example); the report counts those apart.
"""
from __future__ import annotations

import contextlib
import itertools
import operator
import os
import queue
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clientes.directory import get_cliente, get_cliente_by_id
from core.config import get_settings
from core.db.tables import Cliente, Conversa, Mensagem
from core.errors import InvalidInput
from core.training import tokens as tk
from core.db.tables_correcoes import Correcao
from core.review.corrections import cliente_corrections
from core.training.examples import _ENCODER, BloomFilter, ExampleChecker, ExampleLines
from core.training.preference import corrected_example
from core.training.own_details import own_details_of, split_counts
from core.training.redaction import redact_text
from core.training.report import DatasetReport, fill_report

_GOOD_MESSAGES_SQL = (
    "SELECT c.id, m.role, m.conteudo FROM conversas c"
    " LEFT JOIN mensagens m ON m.conversa_id = c.id"
    " WHERE c.cliente_id = {p} AND c.avaliacao = 'boa'"
    " ORDER BY c.id, m.enviada_em, m.id"
)


def _good_rows(session: Session, cliente_id: int) -> Iterator[tuple[int, Iterator[tuple]]]:
    """(conversa_id, its rows) per good conversa, streamed from the database.

    Rows are the query's (conversa_id, role, content) tuples, role None for a conversa
    without messages. The driver's own cursor (a server-side one on PostgreSQL) in
    batches: per row, SQLAlchemy's result machinery cost more than everything else the
    export does. On PostgreSQL the next batch is fetched while this one is worked on.
    """
    connection = session.connection()
    driver = connection.connection.driver_connection
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        cursor = driver.cursor(name="curadoria_dataset")
        cursor.execute(_GOOD_MESSAGES_SQL.format(p="%s"), (cliente_id,))
    else:
        cursor = driver.cursor()
        cursor.execute(_GOOD_MESSAGES_SQL.format(p="?"), (cliente_id,))

    def fetch() -> list:
        return cursor.fetchmany(_FETCH_ROWS)

    batches = _prefetched(fetch) if postgresql else iter(fetch, [])
    try:
        yield from itertools.groupby(itertools.chain.from_iterable(batches), key=operator.itemgetter(0))
    finally:
        if postgresql:
            batches.close()  # stops and joins the fetching thread before the cursor closes
        cursor.close()


_FETCH_ROWS = 5_000


def _prefetched(fetch: Callable[[], list]) -> Iterator[list]:
    """The batches `fetch` returns, up to the first empty one, fetched ahead in a thread.

    While the export works on one batch PostgreSQL produces and sends the next (the
    driver waits on the socket without holding the GIL): the query's time overlaps the
    export's instead of adding to it. At most one batch waits in the queue, so memory
    stays flat. The thread alone uses the cursor until it has stopped: when the consumer
    stops early, the thread is told to stop and joined before the cursor is closed.
    """
    batches: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            while not stop.is_set():
                batch = fetch()
                if not put(batch) or not batch:
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=run, name="curadoria-dataset-fetch", daemon=True)
    thread.start()
    try:
        while True:
            batch = batches.get()
            if isinstance(batch, BaseException):
                raise batch
            if not batch:
                return
            yield batch
    finally:
        stop.set()
        thread.join()


def in_validation(conversa_id: int, fracao: float, semente: str) -> bool:
    """Deterministic split: a conversa always lands in the same file for a seed."""
    if fracao <= 0:
        return False
    return zlib.crc32(f"{semente}:{conversa_id}".encode()) % 1_000_000 < fracao * 1_000_000


def _write_files(session: Session, cliente: Cliente, train: Path, validation: Path) -> DatasetReport:
    settings = get_settings()
    modelo = cliente.modelo_base
    encoding, limite = tk.encoding_name(modelo), tk.token_limit(modelo)
    report = DatasetReport(train_path=train, modelo_base=modelo, encoding=encoding, limite_tokens=limite,
                           cambio_usd_brl=settings.cambio_usd_brl)
    checkers = {"treino": ExampleChecker(encoding, limite), "validacao": ExampleChecker(encoding, limite)}
    puladas: Counter = Counter()
    redacoes: Counter = Counter()
    lines = ExampleLines(encoding, cliente.system_prompt or "", redacoes, own=own_details_of(cliente))
    seen = BloomFilter()
    fracao, semente = settings.dataset_fracao_validacao, settings.dataset_semente_divisao
    tmp_train, tmp_val = train.with_name(train.name + ".tmp"), validation.with_name(validation.name + ".tmp")
    corrigidas = corrected_conversa_ids(session, cliente.id)
    try:
        # Binary files: each line is encoded once, for the duplicate check and the file
        # (the same UTF-8 bytes a text file with newline="\n" would get).
        with open(tmp_train, "wb") as f_train, open(tmp_val, "wb") as f_val, \
                contextlib.closing(_good_rows(session, cliente.id)) as conversas:
            saida = _Examples(limite, lines.has_system, seen, puladas, checkers, f_train, f_val,
                              fracao, semente)
            for conversa_id, rows in conversas:
                if conversa_id in corrigidas:
                    continue  # its example ends with the correction (_write_corrected)
                line, n_tokens, motivo = lines.build(rows)
                if motivo:
                    puladas[motivo] += 1
                    continue
                saida.add(conversa_id, line, n_tokens)
            conversas.close()  # the cursor is done before the corrections are read
            corrigidos = _write_corrected(session, cliente, redacoes, puladas, saida, encoding)
        os.replace(tmp_train, train)
        if checkers["validacao"].exemplos:
            os.replace(tmp_val, validation)
            report.validation_path = validation
        else:
            tmp_val.unlink()
            if validation.exists():
                validation.unlink()  # a stale file from an earlier export would mislead
    finally:
        for tmp in (tmp_train, tmp_val):
            if tmp.exists():
                tmp.unlink()
    fill_report(report, checkers, puladas, redacoes, settings)
    report.exemplos_corrigidos = corrigidos
    return report


@dataclass
class _Examples:
    """Where a built example goes: the token limit, the duplicate check, the split and the
    checker of its file, then the file. One place for the good conversas and the corrected."""

    limite: int
    has_system: bool
    seen: BloomFilter
    puladas: Counter
    checkers: dict
    f_train: object
    f_val: object
    fracao: float
    semente: str

    def add(self, conversa_id: int, line: str, n_tokens: int) -> bool:
        if n_tokens > self.limite:
            self.puladas["acima_do_limite_de_tokens"] += 1
            return False
        data = line.encode()
        if self.seen.add(data):
            self.puladas["duplicada"] += 1
            return False
        parte = "validacao" if in_validation(conversa_id, self.fracao, self.semente) else "treino"
        # Examples are valid by construction (tests run every exported line through
        # validate_jsonl); what the checker still counts here needs no parsing.
        checker = self.checkers[parte]
        checker.exemplos += 1
        checker.sem_system += not self.has_system
        checker.add_tokens(n_tokens)
        (self.f_val if parte == "validacao" else self.f_train).write(data + b"\n")
        return True


def _write_corrected(session: Session, cliente: Cliente, redacoes: Counter, puladas: Counter,
                     saida: _Examples, encoding: str) -> int:
    """The examples of the corrected conversas (any rating), each ending with its last
    correction, after the good ones; the same checks and split. Returns how many."""
    own = own_details_of(cliente)
    escritos = 0
    for conversa_id, mensagens, correcoes in cliente_corrections(session, cliente.id):
        messages, motivo = corrected_example(cliente.system_prompt or "", mensagens, correcoes,
                                             redacoes, own=own)
        if motivo:
            puladas[motivo] += 1
            continue
        n_tokens = tk.count_example_tokens(messages, encoding)
        escritos += saida.add(conversa_id, _ENCODER.encode({"messages": messages}), n_tokens)
    return escritos


def corrected_conversa_ids(session: Session, cliente_id: int) -> set[int]:
    return set(session.scalars(select(Correcao.conversa_id).where(Correcao.cliente_id == cliente_id)))


# --- entry points -------------------------------------------------------------------------

def build_training_files(session: Session, cliente_id: int, out_dir: Path) -> DatasetReport:
    """Write out_dir/<slug>-train.jsonl (and -validation.jsonl when the split gives one)."""
    cliente = get_cliente_by_id(session, cliente_id)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _write_files(session, cliente, out_dir / f"{cliente.slug}-train.jsonl",
                        out_dir / f"{cliente.slug}-validation.jsonl")


def validation_path_for(out: Path) -> Path:
    """Where export puts the validation file: next to `out`, '-validation' before the suffix."""
    return out.with_name(f"{out.stem}-validation{out.suffix or '.jsonl'}")


def export_dataset(session: Session, slug: str, out: Path) -> DatasetReport:
    """The CLI export: the training file at `out`, the validation file next to it."""
    cliente = get_cliente(session, slug)
    out = Path(out)
    if out.is_dir():
        raise InvalidInput(f"'{out}' é uma pasta; informe o caminho do arquivo .jsonl.")
    out.parent.mkdir(parents=True, exist_ok=True)
    return _write_files(session, cliente, out, validation_path_for(out))


def update_system_prompt(session: Session, cliente_id: int, texto: str) -> None:
    """Set the system prompt that opens every training example of this cliente."""
    cliente = get_cliente_by_id(session, cliente_id)
    cliente.system_prompt = texto.strip()
    session.flush()


def preview_examples(session: Session, cliente_id: int, limite: int = 3) -> list[str]:
    """The first `limite` lines the training file would hold, built by the export's own code
    (same order, redaction, own details kept, split): what the model will see."""
    settings = get_settings()
    cliente = get_cliente_by_id(session, cliente_id)
    modelo = cliente.modelo_base
    limite_tokens = tk.token_limit(modelo)
    lines = ExampleLines(tk.encoding_name(modelo), cliente.system_prompt or "", Counter(),
                         own=own_details_of(cliente))
    fracao, semente = settings.dataset_fracao_validacao, settings.dataset_semente_divisao
    found: list[str] = []
    with contextlib.closing(_good_rows(session, cliente.id)) as conversas:
        for conversa_id, rows in conversas:
            line, n_tokens, motivo = lines.build(rows)
            if motivo or n_tokens > limite_tokens or in_validation(conversa_id, fracao, semente):
                continue
            found.append(line)
            if len(found) >= limite:
                break
    return found


@dataclass(frozen=True)
class RedactionPreview:
    conversa_id: int
    antes: str
    depois: str
    tipos: dict[str, int]


def preview_redaction(session: Session, cliente_id: int, limite: int = 5,
                      max_mensagens: int = 20_000) -> list[RedactionPreview]:
    """Up to `limite` good-conversa messages that redaction changes, before and after."""
    stmt = (
        select(Mensagem.conversa_id, Mensagem.conteudo)
        .join(Conversa, Conversa.id == Mensagem.conversa_id)
        .where(Conversa.cliente_id == cliente_id, Conversa.avaliacao == "boa")
        .order_by(Mensagem.conversa_id, Mensagem.id)
        .limit(max_mensagens)
        .execution_options(yield_per=2000)
    )
    own = own_details_of(get_cliente_by_id(session, cliente_id))
    previews = []
    for conversa_id, conteudo in session.execute(stmt):
        counts: Counter = Counter()
        depois = redact_text(conteudo, counts, own)
        removed, _ = split_counts(counts)
        if removed:
            previews.append(RedactionPreview(conversa_id, conteudo, depois, removed))
            if len(previews) >= limite:
                break
    return previews
