"""Personal data redaction (LGPD): what customers type never leaves for a third party.

Each kind of datum is replaced by a typed placeholder (`[CPF]`, `[TELEFONE]`, ...) and
counted. The rules prefer over-redaction to a leak: a punctuated CPF or CNPJ is removed
even when its check digits are wrong (it is still somebody's typo of a document); check
digits (or Luhn, for cards) only decide the doubtful case of a bare run of digits, which
could as well be an order or protocol number.

Customers also type numbers their own way: "529-982-247-25", "5 2 9 9 8 2 2 4 7 2 5",
"529. 982.\n247-25", glued to words ("CPF529.982.247-25", "tel11987654321"), cards in
odd groups ("4111 11111111 1111"), foreign phones ("+1 (415) 555-2671"). After the
regular shapes, the digit-run steps look at the digits themselves, whatever separates
them (see `_DigitRuns`).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from core.training.own_details import OwnDetails
from core.training.digit_runs import (
    PLACEHOLDERS,
    _digits,
    _ORDER,
    _DigitRuns,
    cnpj_is_valid,
    cpf_is_valid,
    luhn_is_valid,
)

# Anything that could hold personal data contains three digits in a row, an @, (a Pix
# key) eight hex characters or (typed digit by digit, "5 2 9 9 8 ...") eight digits close
# to each other; most chat lines do not, and skipping them keeps export fast. (Separate
# checks, not one regex with several branches: sre tries every branch at every position,
# which made that one scan cost about as much as the rest of the redaction.)
_DIGITS3 = re.compile(r"\d{3}")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_SPACED_DIGITS8 = re.compile(r"\d(?:\D{0,6}\d){7}")
_NON_DIGIT = re.compile(r"\D")
_D = r"(?<![\w])"  # not glued to a preceding letter/digit
_E = r"(?![\w])"   # nor to a following one


def _always(_match: re.Match) -> bool:
    return True


def _bare_cpf(match: re.Match) -> bool:
    return cpf_is_valid(match.group())


def _bare_cnpj(match: re.Match) -> bool:
    return cnpj_is_valid(match.group())


def _card(match: re.Match) -> bool:
    return luhn_is_valid(_digits(match.group()))


def _phone(match: re.Match) -> bool:
    """Punctuated phone shapes always; bare digits only in a shape no ordinary number has."""
    text = match.group()
    digits = _digits(text)
    if digits.startswith("55") and len(digits) in (12, 13):
        digits = digits[2:]
    elif digits.startswith("0") and len(digits) in (11, 12):
        digits = digits[1:]
    if not text.isdigit():
        return 8 <= len(digits) <= 11
    if len(digits) == 11:  # DDD + mobile (9 + 8 digits)
        return digits[0] != "0" and digits[2] == "9"
    if len(digits) == 10:  # DDD + landline (2..5 + 7 digits)
        return digits[0] != "0" and digits[2] in "2345"
    return len(digits) == 9 and digits[0] == "9"


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern
    accept: Callable[[re.Match], bool]
    # Cheap necessary conditions: rules that cannot match are not run at all (each regex
    # scan costs microseconds, times 700k messages in a large export).
    min_run: int = 0  # the longest run of digits a match needs
    min_digits: int = 0  # the digits a match holds at least
    needs: str = ""  # a match holds at least one of these characters
    needs_pattern: re.Pattern | None = None  # ... or something this finds
    # Replaced by a plain string substitution (no Python call per match): always accepted,
    # and the placeholder is the whole replacement.
    plain: bool = False


_HEX = "[0-9a-fA-F]"
# Order matters: the longer, more specific shapes go first so that a CNPJ is not taken
# for a CPF plus change, a card for a phone, and so on.
_RULES = [
    _Rule("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), _always, needs="@", plain=True),
    # ... and with blanks or a line break around the @ ("maria.silva @ gmail.com"), then
    # only before a common ending ("fala @ todos.vcs" is no address).
    _Rule("email", re.compile(
        r"[\w.+-]+(?:\s+@\s*|@\s+)[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|edu|gov|br|pt|io|me|co|info)"
        r"(?![\w-])", re.IGNORECASE), _always, needs="@", plain=True),
    _Rule("chave_pix", re.compile(
        rf"{_D}{_HEX}{{8}}-?{_HEX}{{4}}-?{_HEX}{{4}}-?{_HEX}{{4}}-?{_HEX}{{12}}{_E}"), _always,
        needs_pattern=_HEX8, plain=True),
    # Grouped card numbers (4-4-4-4, 4-6-5 Amex): redacted whatever Luhn says.
    _Rule("cartao", re.compile(
        rf"{_D}(?:\d{{4}}(?:[ .-]\d{{4}}){{3}}(?:[ .-]?\d{{1,3}})?|\d{{4}}[ .-]\d{{6}}[ .-]\d{{4,5}}){_E}"),
        _always, 4, 14, " .-", plain=True),
    _Rule("cnpj", re.compile(rf"{_D}\d{{2}}[.\s]?\d{{3}}[.\s]?\d{{3}}\s?/\s?\d{{4}}[-.\s]?\d{{2}}{_E}"),
          _always, 4, 14, "/", plain=True),
    _Rule("cnpj", re.compile(rf"{_D}\d{{2}}\.\d{{3}}\.\d{{3}}[-.\s]?\d{{4}}[-.\s]?\d{{2}}{_E}"),
          _always, 4, 14, ".", plain=True),
    _Rule("cnpj", re.compile(rf"{_D}\d{{14}}{_E}"), _bare_cnpj, 14, 14),
    _Rule("cpf", re.compile(rf"{_D}\d{{3}}[.\s]\d{{3}}[.\s]\d{{3}}\s?[-./\s]\s?\d{{2}}{_E}"), _always, 3, 11,
          plain=True),
    _Rule("cpf", re.compile(rf"{_D}\d{{3}}\.?\d{{3}}\.?\d{{3}}-\d{{2}}{_E}"), _always, 3, 11, "-", plain=True),
    _Rule("cpf", re.compile(rf"{_D}\d{{11}}{_E}"), _bare_cpf, 11, 11),
    _Rule("cartao", re.compile(rf"{_D}\d{{13,19}}{_E}"), _card, 13, 13),
    # Cards in odd groups, before the phone rules could take their first eight digits.
    _DigitRuns(("cartao",), 13, where="run_start"),
    _Rule("cep", re.compile(rf"{_D}\d{{2}}\.?\d{{3}}-\d{{3}}{_E}"), _always, 3, 8, "-", plain=True),
    _Rule("cep", re.compile(r"(?<=[cC][eE][pP])[^\d\n]{0,12}\d{8}(?!\d)"), _always, 8, 8,
          needs_pattern=re.compile("[cC][eE][pP]")),
    # A phone glued to a word ("whats11 98765-4321") or from abroad ("+44 20 7946 0958"),
    # before the next rules take only its last digits.
    _DigitRuns(("telefone",), 8, where="glued"),
    _Rule("telefone", re.compile(
        rf"(?:\+\s?55[\s.-]?|{_D}(?:55[\s.-]?|0)?)(?:\(\s*0?\d{{2}}\s*\)\s?|\d{{2}}[\s.-]?)?"
        rf"9?\s?\d{{4}}[\s.-]?\d{{4}}{_E}"), _phone, 4, 8),
    _Rule("telefone", re.compile(rf"{_D}9?\d{{4}}-\d{{4}}{_E}"), _always, 4, 8, "-", plain=True),
    # Whatever the regular shapes left: every kind, however it is separated or glued.
    _DigitRuns(_ORDER, 8),
]


_DIGIT_RUN = re.compile(r"\d+")
# Every rule on numbers needs 8 digits or more; a text with fewer (an order number, a
# price, a date) is only checked for the e-mail and Pix rules.
_FEW_DIGITS = min(rule.min_digits for rule in _RULES if rule.min_digits)
_FEW_DIGIT_RULES = [rule for rule in _RULES if rule.min_digits < _FEW_DIGITS]


def redact_text(text: str, counts: Counter | None = None, own: OwnDetails | None = None) -> str:
    """The text with personal data replaced by typed placeholders; counts by kind added.

    `own`: the cliente's own public details, kept in any spelling (counted under
    "proprio:<kind>", see core.training.own_details); without them the result is the same
    as before they existed.

    The rules run one after the other over the whole text (a later rule sees the
    placeholders of an earlier one). A rule is skipped only when it cannot match: the
    text lacks the digits, the run of digits or a character every match holds. The
    character checks look at the text as it is at that rule; the digit figures are taken
    once, from the original, which bounds every later step because a replacement never
    adds a digit nor joins two runs of digits (tests/test_redaction_golden.py checks the
    result against running every rule).
    """
    if own is not None and not own.empty:
        protected, kept = own.protect(text)
        return own.restore(_redact(protected, counts), kept, counts)
    return _redact(text, counts)


def _redact(text: str, counts: Counter | None) -> str:
    if ("@" not in text and _DIGITS3.search(text) is None and _HEX8.search(text) is None
            and _SPACED_DIGITS8.search(text) is None):
        return text
    runs = _DIGIT_RUN.findall(text)
    longest = max(map(len, runs), default=0)
    digits = sum(map(len, runs))
    for rule in _RULES if digits >= _FEW_DIGITS else _FEW_DIGIT_RULES:
        if longest < rule.min_run or digits < rule.min_digits:
            continue
        if rule.needs and not any(c in text for c in rule.needs):
            continue
        if rule.needs_pattern is not None and not rule.needs_pattern.search(text):
            continue
        if rule.plain:
            text, n = rule.pattern.subn(PLACEHOLDERS[rule.kind], text)
            if n and counts is not None:
                counts[rule.kind] += n
        elif isinstance(rule, _DigitRuns):
            # The text as it is now: the rules before have usually taken its digits.
            if rule.enough_digits.search(text) is not None:
                text = rule.apply(text, counts)
        else:
            text = rule.pattern.sub(_replacer(rule, counts), text)
    return text


def _replacer(rule: _Rule, counts: Counter | None):
    placeholder = PLACEHOLDERS[rule.kind]

    def replace(match: re.Match) -> str:
        if not rule.accept(match):
            return match.group()
        if counts is not None:
            counts[rule.kind] += 1
        if rule.kind == "cep" and not match.group()[:1].isdigit():
            # Keep what sat between the word "CEP" and the number ("CEP: [CEP]").
            lead = match.group()[: len(match.group()) - 8]
            return lead + placeholder
        return placeholder

    return replace
