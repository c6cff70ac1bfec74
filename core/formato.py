"""pt-BR formatting, the one place for it: money, counts, percentages, dates, plurals,
provider statuses in words and the tense of a date (used by the pages, tables, CSV and
the CLI; no Streamlit here).

    dinheiro(1234.56) -> 'R$ 1.234,56'      dinheiro(0.24, "US$") -> 'US$ 0,24'
    inteiro(12345) -> '12.345'               decimal(1234.5, 1) -> '1.234,5'
    percentual(0.425) -> '42,5%'             data(date(2027, 1, 14)) -> '14/01/2027'
    plural(1, "job") -> '1 job'              plural(3, "conversa boa", "conversas boas")
    status_provedor("validating_files") -> 'validando arquivos'
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from core import clock
from core.clock import format_local

TRACO = "—"


def decimal(valor, casas: int = 2) -> str:
    """1234.5 -> '1.234,50' (thousands with '.', decimals with ',', half up)."""
    if valor is None:
        return TRACO
    quantum = Decimal(1).scaleb(-casas)
    number = Decimal(str(valor)).quantize(quantum, rounding=ROUND_HALF_UP)
    texto = f"{abs(number):,.{casas}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return ("-" if number < 0 else "") + texto


def inteiro(n) -> str:
    """12345 -> '12.345'."""
    return TRACO if n is None else decimal(int(n), 0)


def dinheiro(valor, moeda: str = "R$", casas: int = 2) -> str:
    """'R$ 1.234,56', 'US$ 0,24'; a dash for no value."""
    if valor is None:
        return TRACO
    texto = decimal(valor, casas)
    if texto.startswith("-"):
        return f"-{moeda} {texto[1:]}"
    return f"{moeda} {texto}"


def percentual(fracao, casas: int = 1) -> str:
    """0.425 -> '42,5%'; 0.5 -> '50%' (no ',0'); a dash for no value."""
    if fracao is None:
        return TRACO
    texto = decimal(Decimal(str(fracao)) * 100, casas)
    if "," in texto:
        texto = texto.rstrip("0").rstrip(",")
    return f"{texto}%"


def data(valor: dt.date | dt.datetime | None) -> str:
    """DD/MM/AAAA; a naive datetime is UTC and shown as the local day."""
    if valor is None:
        return TRACO
    if isinstance(valor, dt.datetime):
        return format_local(valor, "%d/%m/%Y")
    return f"{valor:%d/%m/%Y}"


def data_hora(valor: dt.datetime | None) -> str:
    """DD/MM/AAAA HH:MM in the admin's time zone (naive values are UTC)."""
    return format_local(valor) if valor else TRACO


def plural(n: int, singular: str, plural_: str | None = None) -> str:
    """'1 conversa', '0 conversas', '1.234 conversas'; regular plural adds 's'."""
    palavra = singular if n == 1 else (plural_ or _plural(singular))
    return f"{inteiro(n)} {palavra}"


def _plural(palavra: str) -> str:
    """Each word of a short phrase in the plural ('conversa boa' -> 'conversas boas')."""
    return " ".join(_plural_word(w) for w in palavra.split(" "))


_INVARIAVEIS = frozenset({"de", "do", "da", "em", "no", "na", "com", "por", "para", "e", "a", "o"})


def _plural_word(w: str) -> str:
    if not w or w.lower() in _INVARIAVEIS or w[-1] in "s0123456789%":
        return w
    if w.endswith("ão"):
        return w[:-2] + "ões"
    if w.endswith(("r", "z")):
        return w + "es"
    if w.endswith("m"):
        return w[:-1] + "ns"
    if w.endswith("l") and len(w) > 1:
        return w[:-1] + ("is" if w[-2] != "i" else "s")
    return w + "s"


# What providers (OpenAI, Together) and the job table say, in words.
STATUS_PROVEDOR = {
    "validating_files": "validando arquivos",
    "queued": "na fila",
    "pending": "na fila",
    "running": "treinando",
    "succeeded": "concluído",
    "completed": "concluído",
    "failed": "falhou",
    "error": "falhou",
    "user_error": "falhou (erro nos dados)",
    "cancelled": "cancelado",
    "canceled": "cancelado",
    "cancel_requested": "cancelamento pedido",
    "compressing": "compactando o modelo",
    "uploading": "enviando o modelo",
    "paused": "pausado",
    # a model evaluation (avaliacoes_modelo.status)
    "executando": "em andamento",
    "concluida": "concluída",
    "falhou": "falhou",
}


def status_provedor(status: str | None) -> str:
    """A provider's status in pt-BR words; an unknown one with its underscores as spaces."""
    if not status:
        return TRACO
    return STATUS_PROVEDOR.get(status.lower(), status.replace("_", " "))


def desligamento(quando: dt.date | None, quem: str = "pelo provedor",
                 hoje: dt.date | None = None) -> str:
    """'Será desligado pela OpenAI em 14/01/2027.' / 'Desligado pela OpenAI em ...' (the
    tense follows the date)."""
    if quando is None:
        return "Data de desligamento desconhecida."
    hoje = hoje or clock.today()
    verbo = "Será desligado" if quando > hoje else "Desligado"
    return f"{verbo} {quem} em {data(quando)}."
