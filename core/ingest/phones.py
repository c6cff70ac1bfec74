"""WhatsApp numbers: normalize what the bot stores, format what the admin reads."""
from __future__ import annotations

import re

_SUFFIX = re.compile(r"@.*$")
_NON_DIGITS = re.compile(r"\D+")


def normalize_whatsapp(raw: str) -> str:
    """'5511987654321@c.us', '+55 (11) 98765-4321' -> '5511987654321' ('' if no digits)."""
    return _NON_DIGITS.sub("", _SUFFIX.sub("", raw.strip()))


def format_whatsapp(digits: str | None) -> str:
    """'5511987654321' -> '+55 11 98765-4321'; other shapes are shown as best we can."""
    if not digits:
        return "—"
    if digits.startswith("55") and len(digits) in (12, 13):
        ddd, local = digits[2:4], digits[4:]
        return f"+55 {ddd} {local[:-4]}-{local[-4:]}"
    return f"+{digits}"
