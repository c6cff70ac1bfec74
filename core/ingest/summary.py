"""What one import of one cliente did (IngestSummary), in counters and one pt-BR paragraph."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.ingest.parse import MOTIVOS


@dataclass
class IngestSummary:
    """What one import of one cliente did. `lidas` = novas + duplicadas + expiradas + rejeitadas."""

    cliente: str
    lidas: int = 0
    mensagens_novas: int = 0
    conversas_novas: int = 0
    conversas_estendidas: int = 0
    duplicadas: int = 0
    expiradas: int = 0
    rejeitadas: dict[str, int] = field(default_factory=dict)
    erro: str | None = None
    importacao_id: int | None = None
    iniciada_em: dt.datetime | None = None
    concluida_em: dt.datetime | None = None
    segundos: float = 0.0

    @property
    def total_rejeitadas(self) -> int:
        return sum(self.rejeitadas.values())

    def texto(self) -> str:
        """One pt-BR paragraph for the admin (CLI output, dashboard, poller log)."""
        n = _fmt
        partes = [
            f"Importação de '{self.cliente}': {n(self.lidas)} entradas lidas, "
            f"{n(self.mensagens_novas)} mensagens novas em {n(self.conversas_novas)} conversas "
            f"novas e {n(self.conversas_estendidas)} estendidas; {n(self.duplicadas)} duplicadas, "
            f"{n(self.expiradas)} expiradas, {n(self.total_rejeitadas)} rejeitadas"
        ]
        if self.rejeitadas:
            motivos = ", ".join(f"{n(v)} {MOTIVOS.get(k, k)}" for k, v in sorted(self.rejeitadas.items()))
            partes.append(f" ({motivos})")
        partes.append(".")
        if self.segundos:
            partes.append(f" Duração: {self.segundos:.1f} s.")
        if self.erro:
            partes.append(f" A importação parou com erro: {self.erro}")
        return "".join(partes)


def _fmt(value: int) -> str:
    return f"{value:,}".replace(",", ".")
