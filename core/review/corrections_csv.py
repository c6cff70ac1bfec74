"""Corrections in bulk: import and export a CSV (`conversa_id`, `mensagem_id`,
`resposta_correta`; UTF-8, a BOM is accepted).

The import keeps every good line and reports each bad one with its line number and why
(unknown ids, a message that is not the bot's, empty text, ...). Importing the same file
again adds nothing: a line whose correction is already stored is counted as unchanged.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.tables_correcoes import Correcao
from core.errors import CuradoriaError, InvalidInput
from core.review.corrections import save_correction

COLUNAS = ("conversa_id", "mensagem_id", "resposta_correta")


@dataclass
class ImportReport:
    linhas: int = 0
    adicionadas: int = 0
    atualizadas: int = 0
    iguais: int = 0
    rejeitadas: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)

    def lines(self) -> list[str]:
        out = [f"Linhas lidas: {self.linhas}",
               f"Correções adicionadas: {self.adicionadas}",
               f"Correções alteradas: {self.atualizadas}",
               f"Já existentes (sem mudança): {self.iguais}",
               f"Linhas rejeitadas: {len(self.rejeitadas)}"]
        out += [f"  - linha {n}: {motivo}" for n, motivo in self.rejeitadas]
        return out


def _id(value: str | None, coluna: str) -> int:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"'{coluna}' vazio.")
    try:
        n = int(value)
    except ValueError:
        raise InvalidInput(f"'{coluna}' não é um número: '{value[:40]}'.") from None
    if n <= 0 or n > 2**62:
        raise InvalidInput(f"'{coluna}' fora do intervalo: {value[:40]}.")
    return n


def _text(path: Path) -> str:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Não foi possível ler '{path}': {exc.strerror or exc}.") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        linha = raw[:exc.start].count(b"\n") + 1
        raise InvalidInput(f"O arquivo não está em UTF-8 (byte inválido na linha {linha}); "
                           "salve-o como CSV UTF-8.") from None


def import_csv(session: Session, path: Path, usuario: str) -> ImportReport:
    """Import the corrections of a CSV file; one savepoint per line, so a bad line
    never undoes a good one."""
    reader = csv.reader(io.StringIO(_text(path), newline=""))
    report = ImportReport()
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("O arquivo está vazio: a primeira linha deve ser "
                           f"{','.join(COLUNAS)}.") from None
    except csv.Error as exc:
        raise InvalidInput(f"Cabeçalho ilegível: {exc}.") from None
    header = [h.strip().lower() for h in header]
    faltando = [c for c in COLUNAS if c not in header]
    if faltando:
        raise InvalidInput(f"Faltam as colunas {', '.join(faltando)} no cabeçalho "
                           f"(esperado: {','.join(COLUNAS)}).")
    pos = {c: header.index(c) for c in COLUNAS}
    vistas: dict[int, int] = {}
    while True:
        linha = reader.line_num + 1  # where this record starts (a quoted text may span lines)
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.linhas += 1
            report.rejeitadas.append((linha, f"linha malformada ({exc})."))
            continue
        if not any(cell.strip() for cell in row):
            continue  # blank line
        report.linhas += 1
        try:
            if len(row) != len(header):
                raise InvalidInput(f"a linha tem {len(row)} coluna(s); o cabeçalho tem {len(header)} "
                                   "(um texto com vírgula precisa estar entre aspas).")
            conversa_id = _id(row[pos["conversa_id"]], "conversa_id")
            mensagem_id = _id(row[pos["mensagem_id"]], "mensagem_id")
            if mensagem_id in vistas:
                raise InvalidInput(f"a mensagem #{mensagem_id} já foi corrigida na linha "
                                   f"{vistas[mensagem_id]} deste arquivo.")
            with session.begin_nested():
                salvo = save_correction(session, mensagem_id, row[pos["resposta_correta"]],
                                        usuario, conversa_id=conversa_id)
            vistas[mensagem_id] = linha
        except CuradoriaError as exc:
            report.rejeitadas.append((linha, _sentence(str(exc))))
            continue
        if salvo.acao == "criada":
            report.adicionadas += 1
        elif salvo.acao == "atualizada":
            report.atualizadas += 1
        else:
            report.iguais += 1
    return report


def _sentence(texto: str) -> str:
    return texto[:1].lower() + texto[1:] if texto[:1].isupper() and texto[1:2].islower() else texto


def export_csv(session: Session, path: Path, cliente_slug: str | None = None) -> int:
    """Write every correction (of one cliente, when given) to a CSV; returns how many."""
    stmt = select(Correcao.conversa_id, Correcao.mensagem_id, Correcao.resposta_correta)
    if cliente_slug:
        from core.clientes.directory import get_cliente

        stmt = stmt.where(Correcao.cliente_id == get_cliente(session, cliente_slug).id)
    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"'{path}' é uma pasta; informe o caminho do arquivo .csv.")
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUNAS)
        for row in session.execute(stmt.order_by(Correcao.id)):
            writer.writerow(row)
            n += 1
    tmp.replace(path)
    return n

