"""A search snippet for st.markdown: the text escaped, only the matched words in bold."""
from __future__ import annotations

import re

from core.review.search_index import HL_END, HL_START
from pages.ui.common import plain

_MATCH = re.compile(f"{HL_START}(.*?){HL_END}", re.S)


def highlighted(trecho: str) -> str:
    """The snippet's text shown exactly as written (plain()), each matched word in bold."""
    out, last = [], 0
    flat = " ".join(trecho.split())  # one paragraph: newlines in messages are not markup
    for match in _MATCH.finditer(flat):
        out.append(plain(flat[last:match.start()].replace(HL_START, "").replace(HL_END, "")))
        word = match.group(1).replace(HL_START, "").replace(HL_END, "")
        out.append(f"**{plain(word)}**" if word.strip() else plain(word))
        last = match.end()
    out.append(plain(flat[last:].replace(HL_START, "").replace(HL_END, "")))
    return "".join(out)
