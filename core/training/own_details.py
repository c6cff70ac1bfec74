"""The cliente's own public details, kept by the redaction in any spelling.

A bakery's bot answers "ligue (11) 3030-1001" or "nosso e-mail é contato@padaria.com.br":
those are the business's public details, not a customer's personal data, and the model
must learn to give them. `OwnDetails.protect` finds them in a text however they are
written ("(11) 3030-1001", "1130301001", "+55 11 3030-1001", "3030-1001", "CONTATO @
padaria.com.br") and swaps each for a private-use character the redaction rules never
touch; `restore` puts the original spelling back afterwards. Everything else in the text
(a customer's CPF, phone, e-mail) is redacted as always.

Numbers are compared digit by digit over whole groups of a run of digits (as
core.training.digit_runs reads them), so the cliente's number inside a customer's longer
number is not kept; a phone without its DDD is kept only where no other DDD precedes it.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from core.clientes.dados_proprios import dados_proprios
from core.training.digit_runs import _RUN_SEPARATOR, _ascii_digits, _national

# One private-use character per kept detail in a text (U+E000..U+F8FF).
_FIRST, _LAST = 0xE000, 0xF8FF
_PRIVATE = re.compile("[\ue000-\uf8ff]")
_RUN = re.compile(rf"\+?\d(?:{_RUN_SEPARATOR}?\d)*")
_GROUP = re.compile(r"\d+")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_WORD = re.compile(r"\w+")
# Every own number has 8 digits or more (a phone without its DDD, a CEP).
_EIGHT_DIGITS = re.compile(r"\d(?:\D*\d){7}")
# The prefix of the counter keys of what was kept ("proprio:telefone"); the rest are redactions.
KEPT_PREFIX = "proprio:"


def _email_pattern(address: str) -> str:
    local, _, domain = address.strip().partition("@")
    return (rf"(?<![\w.+-]){re.escape(local)}\s*@\s*{re.escape(domain)}(?![\w-]|\.\w)")


@dataclass
class OwnDetails:
    """What a cliente publishes about itself, ready to be found in texts."""

    # digits -> (kind, only at the start of a run)
    numbers: dict[str, tuple[str, bool]] = field(default_factory=dict)
    # (kind, pattern, a text it matches in holds this: "@" or the address's first word)
    patterns: list[tuple[str, re.Pattern, str]] = field(default_factory=list)

    @classmethod
    def from_values(cls, telefones=(), emails=(), cnpj: str = "", endereco: str = "",
                    cep: str = "", chave_pix: str = "") -> OwnDetails:
        own = cls()
        for phone in telefones:
            own._add_phone(_ascii_digits(phone), "telefone")
        own._add_number(cnpj, "cnpj")
        own._add_number(cep, "cep")
        for address in emails:
            own._add_email(address, "email")
        pix = (chave_pix or "").strip()
        if "@" in pix:
            own._add_email(pix, "chave_pix")
        elif _UUID.match(pix):
            hexes = pix.replace("-", "")
            parts = (hexes[:8], hexes[8:12], hexes[12:16], hexes[16:20], hexes[20:])
            own.patterns.append(("chave_pix", re.compile(
                r"(?<![\w])" + "-?".join(parts) + r"(?![\w])", re.IGNORECASE), ""))
        elif pix:
            digits = _ascii_digits(pix)
            if len(digits) in (14, 11):  # CNPJ or CPF (a phone key too)
                own.numbers.setdefault(digits, ("chave_pix", False))
            if pix.startswith("+") or len(digits) in (10, 11, 12, 13):
                own._add_phone(digits, "chave_pix")
        words = _WORD.findall(endereco or "")
        if len(words) >= 2:
            own.patterns.append(("endereco", re.compile(
                r"(?<![\w])" + r"\W{1,4}".join(map(re.escape, words)) + r"(?![\w])", re.IGNORECASE),
                words[0].lower()))
        return own

    def _add_number(self, value: str, kind: str) -> None:
        digits = _ascii_digits(value or "")
        if len(digits) >= 8:
            self.numbers.setdefault(digits, (kind, False))

    def _add_phone(self, digits: str, kind: str) -> None:
        if len(digits) < 8:
            return
        national = _national(digits)
        self.numbers.setdefault(national, (kind, False))
        if len(national) in (10, 11):  # the number without its DDD, where no DDD precedes
            self.numbers.setdefault(national[2:], (kind, True))

    def _add_email(self, address: str, kind: str) -> None:
        if "@" in address and address.strip():
            self.patterns.append((kind, re.compile(_email_pattern(address), re.IGNORECASE), "@"))

    @property
    def empty(self) -> bool:
        return not self.numbers and not self.patterns

    # --- in a text --------------------------------------------------------------------------

    def protect(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """The text with each own detail swapped for a private-use character, and the
        (kind, original) list to restore them. A text already holding such characters is
        left as it is (and fully redacted)."""
        if _PRIVATE.search(text) is not None:
            return text, []
        spans: list[tuple[int, int, str]] = []
        for kind, pattern, needs in self.patterns:
            # A cheap necessary condition first: most chat lines hold no "@" nor the
            # address's first word, and skipping them keeps the export fast.
            if needs in text or (needs != "@" and needs in text.lower()):
                spans += [(m.start(), m.end(), kind) for m in pattern.finditer(text)]
        if self.numbers and _EIGHT_DIGITS.search(text) is not None:
            spans += self._number_spans(text)
        if not spans:
            return text, []
        spans.sort()
        parts, kept, at = [], [], 0
        for start, end, kind in spans:
            if start < at or len(kept) > _LAST - _FIRST:
                continue  # overlaps one already taken
            parts += [text[at:start], chr(_FIRST + len(kept))]
            kept.append((kind, text[start:end]))
            at = end
        parts.append(text[at:])
        return "".join(parts), kept

    @staticmethod
    def restore(text: str, kept: list[tuple[str, str]], counts: Counter | None) -> str:
        if not kept:
            return text
        if counts is not None:
            for kind, _ in kept:
                counts[KEPT_PREFIX + kind] += 1
        return _PRIVATE.sub(lambda m: kept[ord(m.group()) - _FIRST][1], text)

    def _number_spans(self, text: str) -> list[tuple[int, int, str]]:
        found = []
        for run in _RUN.finditer(text):
            groups = [(g.start(), g.end(), _ascii_digits(g.group()))
                      for g in _GROUP.finditer(text, run.start(), run.end())]
            i = 0
            while i < len(groups):
                hit = self._window_at(groups, i)
                if hit is None:
                    i += 1
                    continue
                j, kind = hit
                start = groups[i][0]
                if i == 0 and text[run.start()] == "+":
                    start = run.start()
                found.append((start, groups[j][1], kind))
                i = j + 1
        return found

    def _window_at(self, groups, i: int):
        """(last group, kind) of the longest own number made of groups i..j, if any."""
        digits, best = "", None
        for j in range(i, len(groups)):
            digits += groups[j][2]
            if len(digits) > 15:
                break
            for candidate in (digits, _national(digits)):
                hit = self.numbers.get(candidate)
                if hit is not None and (i == 0 or not hit[1]):
                    best = (j, hit[0])
                    break
        return best


def split_counts(counts: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """(redactions, kept own details) from one counter."""
    removed = {k: v for k, v in counts.items() if not k.startswith(KEPT_PREFIX)}
    kept = {k[len(KEPT_PREFIX):]: v for k, v in counts.items() if k.startswith(KEPT_PREFIX)}
    return removed, kept


def own_details_of(cliente) -> OwnDetails | None:
    """The cliente's own public details as the redaction keeps them (None: it has none)."""
    dados = dados_proprios(cliente)
    if dados.vazio:
        return None
    return OwnDetails.from_values(dados.telefones, dados.emails, dados.cnpj, dados.endereco,
                                  dados.cep, dados.chave_pix)
