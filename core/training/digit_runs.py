"""Digits however customers spell them: check digits (CPF, CNPJ, Luhn) and the runs of
digits that separators, spaces, line breaks and glued letters break up.

Used by core.training.redaction, whose regular rules run first; the `DigitRuns` steps
then look at the digits themselves, whatever separates them.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

PLACEHOLDERS = {
    "email": "[EMAIL]",
    "chave_pix": "[CHAVE_PIX]",
    "cartao": "[CARTAO]",
    "cnpj": "[CNPJ]",
    "cpf": "[CPF]",
    "cep": "[CEP]",
    "telefone": "[TELEFONE]",
}

_NON_DIGIT = re.compile(r"\D")


def _digits(text: str) -> str:
    return _NON_DIGIT.sub("", text)


def cpf_is_valid(digits: str) -> bool:
    """CPF check digits (mod 11); repeated-digit numbers are not valid CPFs."""
    if len(digits) != 11 or digits == digits[0] * 11:
        return False
    nums = [int(c) for c in digits]
    for size in (9, 10):
        total = sum(d * w for d, w in zip(nums, range(size + 1, 1, -1)))
        if (total * 10 % 11) % 10 != nums[size]:
            return False
    return True


def cnpj_is_valid(digits: str) -> bool:
    """CNPJ check digits (mod 11 with weights 5..2, 9..2)."""
    if len(digits) != 14 or digits == digits[0] * 14:
        return False
    nums = [int(c) for c in digits]
    for size in (12, 13):
        weights = list(range(size - 7, 1, -1)) + list(range(9, 1, -1))
        total = sum(d * w for d, w in zip(nums, weights))
        check = 11 - total % 11
        if (0 if check >= 10 else check) != nums[size]:
            return False
    return True


def luhn_is_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number carries."""
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# --- digits however they are spelled ------------------------------------------------------

# A run: digits joined by short separators (at most one line break), with the "+" of an
# international number. Letters around it do not matter.
_RUN_SEPARATOR = r"(?:[ .,/()\t-]{1,3}|[ .,/()\t-]{0,2}\r?\n[ .,/()\t-]{0,2})"
_GROUP = re.compile(r"\d+")
# Numbers that are not personal data and never take part in one: order numbers, times,
# amounts and prices, dates.
_NOT_DATA = re.compile(
    r"#\s?\d+"
    r"|(?<!\d)\d{1,2}(?::\d\d){1,2}(?!\d)"
    r"|R\$\s{0,3}\d[\d.]*(?:,\d{1,2})?"
    r"|(?<![\d.,])\d{1,3}(?:\.\d{3})?,\d{2}(?!\d)"
    r"|(?<![\d/])\d{1,2}/\d{1,2}(?:/\d{2}(?:\d{2})?)?(?![\d/])"
    r"|(?<!\d)(?:(?:19|20)\d\d-[01]\d-[0-3]\d|[0-3]\d[.-][01]\d[.-](?:19|20)\d\d)(?!\d)")
_CEP_BEFORE = re.compile(r"[cC][eE][pP][^\d\n\[\]]{0,12}\Z")  # no line break nor placeholder between
# The separators each kind is written with: cards, phones and CEPs never with commas or
# slashes (those make lists, prices and dates).
_DOCUMENT_SEPARATORS = frozenset(" .,/\t\r\n-")
_SEPARATORS = {
    "cnpj": _DOCUMENT_SEPARATORS, "cpf": _DOCUMENT_SEPARATORS,
    "cartao": frozenset(" .\t\r\n-"), "cep": frozenset(" .\t\r\n-"),
    "telefone": frozenset(" .()\t\r\n-"),
}
_DDDS = frozenset(
    "11 12 13 14 15 16 17 18 19 21 22 24 27 28 31 32 33 34 35 37 38 41 42 43 44 45 46 47 48 49 "
    "51 53 54 55 61 62 63 64 65 66 67 68 69 71 73 74 75 77 79 81 82 83 84 85 86 87 88 89 91 92 93 "
    "94 95 96 97 98 99".split())


class _Window(NamedTuple):
    """Consecutive whole groups of a run: where they sit and what they hold."""
    start: int
    end: int
    digits: str  # ASCII digits
    sizes: tuple[int, ...]  # the groups' lengths
    separators: frozenset  # every character between the groups
    uniform: bool  # the same separator between every two groups
    plus: bool  # the run's "+" sits right before it


def _ascii_digits(text: str) -> str:
    digits = _NON_DIGIT.sub("", text)
    return digits if digits.isascii() else "".join(str(int(c)) for c in digits)


def _is_letter(char: str) -> bool:
    return char.isalpha() or char == "_"


def _is_word(char: str) -> bool:
    """What a regex word character is (the regular rules' boundary): letter, digit, "_"."""
    return char.isalnum() or char == "_"


def _national(digits: str) -> str:
    """A Brazilian number without its country code 55 or its trunk 0."""
    if digits.startswith("55") and len(digits) in (12, 13):
        return digits[2:]
    if digits.startswith("0") and len(digits) in (11, 12):
        return digits[1:]
    return digits


def _phone_digits(digits: str, plus: bool) -> bool:
    """An international number (+, 8-15 digits, no country code starts with 0) or a
    Brazilian one: DDD + landline (2..5) or mobile (9), or the number alone."""
    if plus:
        return digits[0] != "0"
    digits = _national(digits)
    if len(digits) in (10, 11):
        return digits[:2] in _DDDS and digits[2] in ("9" if len(digits) == 11 else "2345")
    return (len(digits) == 9 and digits[0] == "9") or (len(digits) == 8 and digits[0] not in "01")


def _phone_shape(w: _Window, text: str) -> bool:
    if w.sizes[-1] < 3 and max(w.sizes) > 1:  # "+1 415 555 2671 2 vezes": not the 2
        return False
    if w.plus or len(_national(w.digits)) > 9:
        return True
    # Without a DDD: not between two letters (BR923456789BR is a tracking code), and
    # eight digits only as 3456-7890.
    if _is_letter(text[w.start - 1:w.start]) and _is_letter(text[w.end:w.end + 1]):
        return False
    return len(w.digits) == 9 or (w.sizes == (4, 4) and w.separators == {"-"})


def _card_digits(digits: str, plus: bool) -> bool:
    return not plus and digits[0] in "23456" and luhn_is_valid(digits)


def _card_shape(w: _Window, text: str) -> bool:
    """Groups a person types: 4111 11111111 1111, 3782 8224 6310 005, 4 1 1 1 ..., one
    separator throughout (not "238291372 01310-100")."""
    return w.uniform and (min(w.sizes[:-1], default=4) >= 4 or max(w.sizes) == 1)


def _cep_shape(w: _Window, text: str) -> bool:
    """Eight digits after the word CEP, or in the 01310-100 shape."""
    if w.sizes in ((5, 3), (2, 3, 3)) and text[w.end - 4] == "-" and w.separators <= {"-", "."}:
        return True
    return _CEP_BEFORE.search(text, max(0, w.start - 15), w.start) is not None


def _any_shape(w: _Window, text: str) -> bool:
    return True


# kind: (digits it holds, test of the digit string, test of how it is written)
_KINDS = {
    "cnpj": ((14, 14), lambda digits, plus: cnpj_is_valid(digits), _any_shape),
    "cpf": ((11, 11), lambda digits, plus: cpf_is_valid(digits), _any_shape),
    "cartao": ((13, 19), _card_digits, _card_shape),
    "cep": ((8, 8), lambda digits, plus: True, _cep_shape),
    "telefone": ((8, 15), _phone_digits, _phone_shape),
}


# Which window wins when several start at the same group: documents by their check
# digits first (as the regular rules do), then a card by its commonest lengths (one in
# ten digit strings passes Luhn, so "4 0 1 2 8 8 ..." has shorter valid prefixes), then
# a CEP, then the longest phone. An international "+" makes it a phone first.
_ORDER = ("cnpj", "cpf", "cartao", "cep", "telefone")
_CARD_LENGTHS = {n: rank for rank, n in enumerate((16, 15, 14, 19, 13, 17, 18))}


# A digit right after a letter (or a letter and a "("), or a "+" and a country other than
# 55: what a "glued" step needs.
_GLUED_OR_PLUS = re.compile(r"[^\W\d]\(?\d|\+(?!55)\d")


class _Groups:
    """The groups of digits of one run, with what the windows over them need."""

    def __init__(self, text: str, spans: list[tuple[int, int]], blocked: list[tuple[int, int]],
                 plus: bool):
        self.text, self.spans, self.plus = text, spans, plus
        self.digits = [_ascii_digits(text[s:e]) for s, e in spans]
        self.between = [text[spans[k][1]:spans[k + 1][0]] for k in range(len(spans) - 1)]
        # tight[k]: a lone hyphen, dot, comma or slash joins group k to group k + 1
        self.tight = [len(sep) == 1 and sep in "-.,/" for sep in self.between]
        self.free = [not any(bs < e and s < be for bs, be in blocked) for s, e in spans]

    def ends(self, i: int) -> list[tuple[int, str]]:
        """(j, digits) of the windows i..j with 8 to 19 digits, made of free groups and
        not ending at a tight separator."""
        found, digits = [], ""
        for j in range(i, len(self.spans)):
            if not self.free[j]:
                break
            digits += self.digits[j]
            if len(digits) > 19:
                break
            if len(digits) >= 8 and not (j < len(self.tight) and self.tight[j]):
                found.append((j, digits))
        return found

    def window(self, i: int, j: int, digits: str, plus: bool) -> _Window:
        between = self.between[i:j]
        return _Window(self.spans[i][0], self.spans[j][1], digits,
                       tuple(e - s for s, e in self.spans[i:j + 1]), frozenset("".join(between)),
                       len(set(between)) <= 1, plus)


class _DigitRuns:
    """A redaction step that finds the given kinds in runs of digits, whatever separates
    or surrounds them.

    From each group of a run, left to right, windows of whole consecutive groups are
    tried; the first that holds a datum is replaced and the search goes on after it. A
    datum never starts or ends at a lone hyphen, dot, comma or slash, nor takes in an
    order number, a time, a price or a date. `where` limits the starting group: "any",
    "run_start" (the run's first group) or "glued" (the first group, right after a
    letter or a "(" that follows one, or after the "+" of a country other than 55).
    """

    def __init__(self, kinds: tuple[str, ...], min_digits: int, where: str = "any"):
        self.kinds = tuple(k for k in _ORDER if k in kinds)
        self.min_digits = min_digits
        self.where = where
        # Only the runs holding enough digits (a match starts at a run's first digit: a
        # later start would hold fewer).
        self.runs = re.compile(rf"\+?\d(?:{_RUN_SEPARATOR}?\d){{{min_digits - 1},}}")
        # A scan at a fifth of the cost of the one above, which redact_text runs first on
        # the text as it is then: enough digits at all.
        self.enough_digits = re.compile(rf"\d(?:\D*\d){{{min_digits - 1}}}")
        # the gates redact_text checks, as for a _Rule
        self.min_run = 1
        self.needs = ""
        self.needs_pattern = _GLUED_OR_PLUS if where == "glued" else None
        self.plain = False

    def apply(self, text: str, counts: Counter | None) -> str:
        found = []
        for run in self.runs.finditer(text):
            if not self._may_start(text, run.start()) or self._judged(text, run):
                continue
            # What is not a datum, near the run only: "R$ " before it, ":30:00" after it.
            near = _NOT_DATA.finditer(text, max(0, run.start() - 6), run.end() + 8)
            blocked = [m.span() for m in near]
            found.extend(self._find(text, run, blocked))
        if not found:
            return text
        parts, at = [], 0
        for start, end, kind in found:
            parts += [text[at:start], PLACEHOLDERS[kind]]
            at = end
            if counts is not None:
                counts[kind] += 1
        parts.append(text[at:])
        return "".join(parts)

    def _judged(self, text: str, run: re.Match) -> bool:
        """A lone group of ASCII digits that no word character touches: the regular rules
        have tested it as this last step would, or more loosely ("protocolo 21374667").
        (They compare other digits, "５", as they are; this step reads them as numbers.)"""
        start, end = run.span()
        return (self.where == "any" and run.group().isdigit() and run.group().isascii()
                and not _is_word(text[start - 1:start]) and not _is_word(text[end:end + 1]))

    def _may_start(self, text: str, start: int) -> bool:
        if self.where == "run_start":
            return text[start] != "+"  # a card never follows a "+"
        if self.where != "glued":
            return True
        if text[start] == "+":
            return not text.startswith("55", start + 1)
        before = text[start - 1:start]
        if before == "(":
            before = text[start - 2:start - 1]
        return _is_letter(before)

    def _find(self, text: str, run: re.Match, blocked: list[tuple[int, int]]):
        spans = [g.span() for g in _GROUP.finditer(text, run.start(), run.end())]
        groups = _Groups(text, spans, blocked, plus=text[run.start()] == "+")
        last_start = len(spans) if self.where == "any" else 1
        i = 0
        while i < last_start:
            hit = self._datum_at(groups, i) if groups.free[i] else None
            if hit is None:
                i += 1
                continue
            start, end, kind, i = hit
            yield start, end, kind

    def _datum_at(self, groups: _Groups, i: int):
        """(start, end, kind, next group) of the datum starting at group i, if any."""
        if i and groups.tight[i - 1]:
            return None
        ends = groups.ends(i)  # (j, digits) of every window that may hold a datum
        if not ends:
            return None
        plus = groups.plus and i == 0
        text = groups.text
        for kind in ("telefone",) + self.kinds if plus else self.kinds:
            if kind not in self.kinds:
                continue
            (low, high), digits_test, shape_test = _KINDS[kind]
            fits = [(j, digits) for j, digits in ends
                    if low <= len(digits) <= high and digits_test(digits, plus)]
            if kind == "telefone":
                fits.reverse()  # the longest
            elif kind == "cartao":
                fits.sort(key=lambda jd: _CARD_LENGTHS[len(jd[1])])
            for j, digits in fits:
                w = groups.window(i, j, digits, plus)
                if w.separators <= _SEPARATORS[kind] and shape_test(w, text):
                    return self._span(text, w, kind) + (kind, j + 1)
        return None

    @staticmethod
    def _span(text: str, w: _Window, kind: str) -> tuple[int, int]:
        """The window, with the "+" before a phone and the "(" of "(11) ..."."""
        if w.plus:
            return w.start - 1, w.end
        if kind == "telefone" and text[w.start - 1:w.start] == "(" \
                and text[w.start + w.sizes[0]:w.start + w.sizes[0] + 1] == ")":
            return w.start - 1, w.end
        return w.start, w.end
