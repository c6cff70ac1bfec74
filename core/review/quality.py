"""How good a detector is: per-category precision and recall against reference labels.

Used twice: on the labelled test set written for the tests (bench/detection.py) and on
the admin's own labels (the analysis page). A figure with nothing behind it is None,
never 0 or 1: "no data" must not read as "always wrong" or "always right".
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.review.detection import PROBLEMAS


@dataclass(frozen=True)
class Qualidade:
    """Confusion counts of one category over a set of labelled conversas."""

    codigo: str
    verdadeiros: int  # detected and labelled
    falsos_positivos: int  # detected, not labelled
    falsos_negativos: int  # labelled, not detected
    conversas: int  # labelled conversas behind the figures

    @property
    def rotulo(self) -> str:
        return PROBLEMAS[self.codigo]

    @property
    def precisao(self) -> float | None:
        detectados = self.verdadeiros + self.falsos_positivos
        return self.verdadeiros / detectados if detectados else None

    @property
    def recall(self) -> float | None:
        rotulados = self.verdadeiros + self.falsos_negativos
        return self.verdadeiros / rotulados if rotulados else None

    @property
    def positivos(self) -> int:
        """Conversas labelled with this category (what the recall stands on)."""
        return self.verdadeiros + self.falsos_negativos

    @property
    def detectados(self) -> int:
        """Conversas the detector flagged with this category (what the precision stands on)."""
        return self.verdadeiros + self.falsos_positivos


@dataclass(frozen=True)
class Avaliacao:
    """Per-category figures plus how often ordinary (label-free) conversas get flagged."""

    categorias: dict[str, Qualidade]
    comuns: int  # conversas labelled with no problem
    comuns_sinalizadas: int  # ... of which the detector flagged at least one

    @property
    def taxa_comuns_sinalizadas(self) -> float | None:
        return self.comuns_sinalizadas / self.comuns if self.comuns else None


def evaluate(pares: Iterable[tuple[Iterable[str], Iterable[str]]]) -> Avaliacao:
    """Figures from (detected, labelled) category sets, one pair per conversa."""
    tp = dict.fromkeys(PROBLEMAS, 0)
    fp = dict.fromkeys(PROBLEMAS, 0)
    fn = dict.fromkeys(PROBLEMAS, 0)
    total = comuns = comuns_sinalizadas = 0
    for detectados, rotulados in pares:
        d, r = set(detectados) & set(PROBLEMAS), set(rotulados) & set(PROBLEMAS)
        total += 1
        if not r:
            comuns += 1
            comuns_sinalizadas += bool(d)
        for codigo in d & r:
            tp[codigo] += 1
        for codigo in d - r:
            fp[codigo] += 1
        for codigo in r - d:
            fn[codigo] += 1
    categorias = {c: Qualidade(c, tp[c], fp[c], fn[c], total) for c in PROBLEMAS}
    return Avaliacao(categorias, comuns, comuns_sinalizadas)
