"""Problem detection on pt-BR chat text: rules over normalized words, no model needed.

Text from WhatsApp is lower/upper case, with or without accents, full of abbreviations
(vc, q, blz, pfv), stretched letters (obrigadooo, affff) and typos. Everything is compared
after `normalize`: lower case, accents removed, abbreviations expanded, letter runs cut;
single keywords also match with one typo. The vocabulary is in core.review.lexicon.

Measured on a hand-labelled set written for the tests: bench/detection.py, figures in
docs/BENCHMARKS.md.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from core.review.lexicon import (
    ACK, AGRADECIMENTO, ENCAMINHOU, FALLBACK, FALLBACK_REGEX, FECHAMENTO, GENERICO_FRASES,
    GENERICO_PALAVRAS, HUMANO, HUMANO_REGEX, IRRITADO_EMOJIS, IRRITADO_FRASES, IRRITADO_PALAVRAS, PAPEIS,
    PEDIDO_VERBOS, PERGUNTA_INICIO, PLANO, RECUSOU, SAUDACAO, VAGA,
)

# Codes are stored in conversas_problemas; the labels are what the admin reads.
PROBLEMAS: dict[str, str] = {
    "fallback": "Bot não encontrou a informação",
    "vaga": "Resposta genérica demais",
    "irritado": "Cliente irritado ou reclamando",
    "sem_resposta": "Cliente ficou sem resposta",
    "humano": "Cliente pediu um atendente humano",
    "repetiu": "Cliente repetiu a pergunta",
}

ABREVIACOES = {
    "vc": "voce", "vcs": "voces", "voce": "voce", "q": "que", "oq": "o que", "pq": "porque",
    "blz": "beleza", "pfv": "por favor", "pf": "por favor", "pls": "por favor", "hj": "hoje",
    "tbm": "tambem", "tb": "tambem", "qto": "quanto", "qnt": "quanto", "qdo": "quando",
    "qnd": "quando", "td": "tudo", "tds": "todos", "msm": "mesmo", "mt": "muito", "mto": "muito",
    "n": "nao", "nao": "nao", "ñ": "nao", "c": "com", "cmg": "comigo", "obg": "obrigado",
    "obgd": "obrigado", "vlw": "valeu", "agr": "agora", "aq": "aqui", "dps": "depois",
    "ngm": "ninguem", "alg": "alguem", "ta": "esta", "to": "estou", "pra": "para", "pro": "para o",
    "nd": "nada", "qro": "quero", "qr": "quer", "vdd": "verdade", "msg": "mensagem",
    "qual": "qual", "qm": "quem", "fds": "fim de semana", "hrs": "horas", "hr": "hora", "mds": "meu deus", "tmb": "tambem", "kd": "cade", "cad": "cade", "atd": "atendente",
}

_WORD = re.compile(r"[a-z0-9]+")
_RUN = re.compile(r"([a-z])\1{2,}")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=65536)
def normalize(text: str) -> str:
    """Lower case, no accents, abbreviations expanded, words separated by one space."""
    text = strip_accents((text or "").lower()).replace("c/", "com ").replace("s/", "sem ")
    text = _RUN.sub(r"\1", text)  # "affff" -> "af", "siiim" -> "sim", "kkkk" -> "k"
    words = [ABREVIACOES.get(w, w) for w in _WORD.findall(text)]
    return " ".join(words)


def _levenshtein_le1(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion or substitution."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = j = edits = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            i += 1
            j += 1
            continue
        edits += 1
        if edits > 1:
            return False
        if len(a) == len(b):
            i += 1
        j += 1
    return edits + (len(b) - j) <= 1


@functools.lru_cache(maxsize=65536)
def _near_word(token: str, words: tuple[str, ...]) -> bool:
    """The token is one of the words, or one typo away from one long enough (>= 6 letters)
    that a typo is unambiguous. Cached: chat vocabulary repeats a lot."""
    return token in words or (len(token) >= 5 and any(
        len(w) >= 6 and abs(len(token) - len(w)) <= 1 and _levenshtein_le1(token, w)
        for w in words))


@functools.lru_cache(maxsize=64)
def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern:
    return re.compile(r"(?<!\S)(?:" + "|".join(map(re.escape, phrases)) + r")(?!\S)")


def matches(text: str, phrases: tuple[str, ...], words: tuple[str, ...] = ()) -> bool:
    """Whether normalized text contains one of the phrases or (typo-tolerant) words."""
    if phrases and _phrase_pattern(phrases).search(text):
        return True
    return bool(words) and any(_near_word(t, words) for t in text.split())


@dataclass
class Deteccao:
    """Problems found in one conversa and the rating they suggest."""

    problemas: list[str] = field(default_factory=list)
    avaliacao_sugerida: str | None = None


def _is_word(token: str, vocabulary: tuple[str, ...]) -> bool:
    """The token is in the vocabulary, also with a doubled last letter ("obgg", "valeuu")."""
    return token in vocabulary or (len(token) > 2 and token[-1] == token[-2]
                                   and token[:-1] in vocabulary)


def _only_words(text: str, vocabulary: tuple[str, ...]) -> bool:
    tokens = text.split()
    return bool(tokens) and all(_is_word(t, vocabulary) for t in tokens)


def is_closing(text: str) -> bool:
    """An acknowledgement or thanks that needs no answer ("ok", "vlw", "obg!")."""
    return _only_words(normalize(text), FECHAMENTO)


def is_greeting(text: str) -> bool:
    return _only_words(normalize(text), SAUDACAO)


def _is_question(raw: str, text: str) -> bool:
    """A question, with or without the "?" ("qual o horario de sabado")."""
    if "?" in raw:
        return True
    tokens = text.split()
    return bool(tokens) and (tokens[0] in PERGUNTA_INICIO or " ".join(tokens[:2]) in PERGUNTA_INICIO)


def _is_fallback(text: str) -> bool:
    return matches(text, FALLBACK) or bool(FALLBACK_REGEX.search(text))


def _has_facts(raw: str) -> bool:
    """A number (price, time, address, date) or a list: the reply says something concrete."""
    return bool(re.search(r"\d", raw)) or raw.count(",") >= 2


def _is_generic(text: str) -> bool:
    return matches(text, GENERICO_FRASES) or any(t in GENERICO_PALAVRAS for t in text.split())


def _is_vague(raw: str, text: str, pergunta: tuple[str, str] | None) -> bool:
    """Generic text instead of an answer.

    Known empty sentences count anywhere except after a mere "ok"/"obrigado"; marketing
    fluff (praise, range, care, "visit us") counts as the reply to a question when it
    carries no fact and says neither yes nor no.
    """
    pergunta_raw, pergunta_text = pergunta or ("", "")
    if _only_words(pergunta_text, FECHAMENTO):
        return False
    if matches(text, VAGA):
        return True
    if not pergunta or not _is_question(pergunta_raw, pergunta_text) or _has_facts(raw):
        return False
    palavras = text.split()
    if {"sim", "nao", "claro"} & set(palavras[:3]):
        return False
    if _is_generic(text):
        return True
    # Not a word of the question, no fact, no question back, no "Tem, ..." / "Fazemos!"
    # up front: the reply talks about something else. (A request for a person answered
    # off the point counts as "humano", not twice.)
    return (len(palavras) > 3 and not raw.rstrip(" !.😊🙂").endswith("?")
            and not re.match(r"\s*\w+[,!]", raw) and not _asks_human(pergunta_text)
            and not _stems(text) & _stems(pergunta_text))


def _is_angry(raw: str, text: str) -> bool:
    if any(e in raw for e in IRRITADO_EMOJIS):
        return True
    letters = [c for c in raw if c.isalpha()]
    shouting = len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.8
    return shouting or matches(text, IRRITADO_FRASES, IRRITADO_PALAVRAS)


def _asks_human(text: str) -> bool:
    """A request to talk to a person: a known phrase, a role named next to a request verb
    ("quero falar com o farmacêutico", "me liga alguém da oficina"), or a role on its own
    ("atendente pfv")."""
    if matches(text, HUMANO) or HUMANO_REGEX.search(text):
        return True
    tokens = text.split()
    # A role after an article or "com/para" (or a pronoun-like role): "pedido medico" is not one.
    papeis = [i for i, t in enumerate(tokens) if t in PAPEIS and (
        t in ("alguem", "atendente", "humano", "humana", "pessoa")
        or (i > 0 and tokens[i - 1] in ("o", "a", "um", "uma", "com", "para", "da", "do")))]
    if not papeis:
        return False
    if len(tokens) <= 4 and all(t in PAPEIS or t in ("por", "favor", "um", "uma", "o", "a", "quero")
                                for t in tokens):
        return True
    verbos = [i for i, t in enumerate(tokens) if t in PEDIDO_VERBOS or t in ("fala", "falo")]
    return any(abs(p - v) <= 5 for p in papeis for v in verbos)


_ENCHIMENTO = frozenset("mas entao ai ne ou sim nao oi ue hein e so".split())


def _stems(text: str) -> set[str]:
    return {w[:5] for w in content_words(text) if w not in _ENCHIMENTO}


def _similar(a: str, b: str) -> bool:
    """Two customer messages that ask the same thing (same words, or one inside the other)."""
    wa, wb = set(a.split()), set(b.split())
    if len(wa) < 2 or len(wb) < 2:
        return False
    if a in b or b in a:
        return True
    if len(wa & wb) / len(wa | wb) >= 0.6:
        return True
    sa, sb = _stems(a), _stems(b)
    if len(sa) >= 2 and len(sb) >= 2 and len(sa & sb) / min(len(sa), len(sb)) >= 0.66:
        return True
    matcher = SequenceMatcher(None, a, b)
    return matcher.quick_ratio() >= 0.85 and matcher.ratio() >= 0.85


def _previous_user(norm: list[tuple[str, str, str]], i: int) -> tuple[str, str] | None:
    return next(((raw, t) for r, t, raw in reversed(norm[:i]) if r == "user"), None)


def detect_problems(mensagens: list[tuple[str, str]]) -> Deteccao:
    """Problems of one conversa, from its messages as (role, content) in order."""
    norm = [(role, normalize(content), content) for role, content in mensagens]
    found: list[str] = []

    def add(code: str) -> None:
        if code not in found:
            found.append(code)

    perguntas: list[tuple[int, str]] = []
    for i, (role, text, raw) in enumerate(norm):
        if role == "assistant":
            if _is_fallback(text):
                add("fallback")
            elif _is_vague(raw, text, _previous_user(norm, i)):
                add("vaga")
            continue
        if _is_angry(raw, text):
            add("irritado")
        if _asks_human(text) and not _handed_over(norm, i):
            add("humano")
        if _only_words(text, FECHAMENTO) or _only_words(text, SAUDACAO):
            continue
        if any(_similar(text, p) and not _answered(norm, j, i) for j, p in perguntas):
            add("repetiu")
        perguntas.append((i, text))
    if _left_without_answer(norm):
        add("sem_resposta")
    return Deteccao(problemas=found, avaliacao_sugerida=_suggest(norm, found))


STOPWORDS = frozenset(
    "a o as os um uma de da do das dos e em no na nos nas para por com que qual quais quanto "
    "como onde quando voce voces eu meu minha seu sua tem ter esta sao ser mais muito tambem "
    "nao sim isso esse essa ai aqui la me te se ja pode posso vai favor por quero queria "
    "gostaria saber preciso ainda agora hoje faco fazer faz ola oi boa bom dia tarde noite "
    "tudo bem obrigado obrigada alguma algum vcs loja voces estao estou".split()
)


def content_words(text: str) -> set[str]:
    """Normalized words that carry meaning (no stopwords, at least 3 letters)."""
    return {w for w in text.split() if len(w) >= 3 and w not in STOPWORDS}


def _answered(norm: list[tuple[str, str, str]], asked: int, again: int) -> bool:
    """A reply between two similar questions that actually answered the first one.

    A customer asking the same thing again after a concrete answer is a follow-up; after
    a non-answer (fallback, generic text, unrelated words) it is a repeated question.
    """
    pergunta = {w[:5] for w in content_words(norm[asked][1])}
    for k in range(asked + 1, again):
        role, text, raw = norm[k]
        if role != "assistant" or _is_fallback(text) or _is_vague(raw, text, _previous_user(norm, k)):
            continue
        if re.search(r"\d", text) or pergunta & {w[:5] for w in content_words(text)}:
            return True
    return False


def _handed_over(norm: list[tuple[str, str, str]], i: int) -> bool:
    """The bot's reply to message i passes the customer on to a person."""
    reply = next((t for r, t, _ in norm[i + 1:] if r == "assistant"), None)
    if reply is None or matches(reply, RECUSOU):
        return False
    return matches(reply, ENCAMINHOU) or bool(re.search(r"\d{4}", reply))


def _left_without_answer(norm: list[tuple[str, str, str]]) -> bool:
    """The last word is the customer's, and it asks, requests or complains.

    Not left without answer: a mere "ok"/"obrigado", an emoji, a two-word sigh ("affff",
    "ngm merece"), thanks or a plan without a request ("blz, passo aí amanhã"). Any
    reply to a question the bot asked is waiting for the bot, though ("particular").
    """
    if not norm or norm[-1][0] != "user":
        return False
    _, text, raw = norm[-1]
    tokens = text.split()
    if _is_question(raw, text):
        return True
    if not tokens or _only_words(text, FECHAMENTO):
        return False
    bot = next((r for role, _, r in reversed(norm) if role == "assistant"), "")
    if bot.rstrip(" !.😊🙂").endswith("?"):
        return True
    if len(tokens) <= 2:
        return False
    if any(t in ("quero", "preciso", "pode", "gostaria", "queria") for t in tokens):
        return True
    if _is_angry(raw, text) and not any(_is_word(t, ACK) for t in tokens):
        return True
    return not any(_is_word(t, ACK) or t in PLANO for t in tokens)


def suggest_rating(mensagens: list[tuple[str, str]], problemas: list[str]) -> str | None:
    """The suggested rating of a conversa whose problems another detector found."""
    return _suggest([(r, normalize(c), c) for r, c in mensagens], problemas)


def _suggest(norm: list[tuple[str, str, str]], found: list[str]) -> str | None:
    """'ruim' when a problem was found; 'boa' when answered and thanked; else no opinion."""
    if found:
        return "ruim"
    answered = any(r == "assistant" for r, _, _ in norm)
    thanked = any(r == "user" and matches(t, (), AGRADECIMENTO) for r, t, _ in norm)
    return "boa" if answered and thanked else None


def first_question(mensagens: list[tuple[str, str]]) -> str | None:
    """The customer's first message that is more than a greeting (what they came for)."""
    user = [content for role, content in mensagens if role == "user" and content.strip()]
    for content in user:
        if not is_greeting(content) and not is_closing(content):
            return content
    return user[0] if user else None
