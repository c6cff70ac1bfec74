"""The analysis table as a CSV for pt-BR spreadsheets (Excel, LibreOffice, Google Sheets in
Portuguese): ';' between cells, decimal comma, dates DD/MM/AAAA, absolute links, and cells
that a spreadsheet would run as a formula kept as text."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from decimal import Decimal

from core import formato
from core.config import get_settings

COLUNAS = ("conversa", "cliente", "dia", "avaliacao", "avaliacao_sugerida", "problemas",
           "topico", "pergunta", "link")
# The CSV's header, in the spreadsheet's language (same order as COLUNAS).
CABECALHOS = {"conversa": "Conversa", "cliente": "Cliente", "dia": "Dia", "avaliacao": "Avaliação",
              "avaliacao_sugerida": "Sugestão", "problemas": "Problemas", "topico": "Tópico",
              "pergunta": "Pergunta do cliente", "link": "Link"}


def export_csv(rows: Iterable[dict], url_publica: str | None = None) -> bytes:
    """The table as a CSV for pt-BR spreadsheets: ';' between cells, decimal comma, dates
    DD/MM/AAAA, links absolute from `url_publica` (default CURADORIA_URL_PUBLICA), UTF-8
    with BOM so that spreadsheet programs read the accents."""
    base = (url_publica if url_publica is not None else get_settings().url_publica).rstrip("/")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([CABECALHOS[c] for c in COLUNAS])
    for row in rows:
        writer.writerow([_csv_safe(_csv_value(c, row.get(c, ""), base)) for c in COLUNAS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(coluna: str, value, base: str):
    if coluna == "link" and isinstance(value, str) and value.startswith("/"):
        return base + value
    if isinstance(value, (dt.date, dt.datetime)):
        return formato.data(value)
    if isinstance(value, (float, Decimal)):
        return formato.decimal(value, 2)
    return value


# A cell starting with one of these is read as a formula by spreadsheet programs (TAB
# and CR too, as OWASP's CSV-injection advice says): customer text must stay text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value):
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
