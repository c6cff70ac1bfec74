"""Problem detection on pt-BR chat text: rules over normalized words, no model needed.

Text from WhatsApp is lower/upper case, with or without accents, full of abbreviations
(vc, q, blz, pfv) and typos. Everything is compared after `normalize`: lower case,
accents removed, abbreviations expanded; single keywords also match with one typo.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher

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
    "nd": "nada", "tmb": "tambem", "kd": "cade", "cad": "cade", "atd": "atendente",
}

_WORD = re.compile(r"[a-z0-9]+")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=65536)
def normalize(text: str) -> str:
    """Lower case, no accents, abbreviations expanded, words separated by one space."""
    text = strip_accents((text or "").lower()).replace("c/", "com ").replace("s/", "sem ")
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


# --- vocabulary (already normalized: no accents, abbreviations expanded) ---------------

FALLBACK = (
    "nao encontrei", "nao consegui encontrar", "nao tenho essa informacao",
    "nao tenho esta informacao", "nao tenho informacoes", "nao tenho informacao",
    "nao possuo essa informacao", "nao possuo informacoes", "nao sei responder",
    "nao sei informar", "nao sei dizer", "nao entendi", "nao compreendi",
    "nao consigo responder", "nao consigo ajudar com isso", "sem informacoes sobre",
    "nao tenho como responder", "nao sei te responder", "pode reformular",
)
VAGA = (
    "posso ajudar com varias coisas", "varias opcoes disponiveis", "fique a vontade para perguntar",
    "cada caso e um caso", "obrigado pela mensagem", "consulte nossos canais",
    "otima pergunta", "estamos sempre trabalhando", "para mais informacoes consulte",
    "entre em contato com nossos canais", "depende de varios fatores", "depende de cada caso",
    "estamos a disposicao", "temos varias opcoes",
)
IRRITADO_FRASES = (
    "nao responde", "nao entende", "nao resolve", "ninguem resolve", "nao ajuda", "nao ajudou",
    "ja perguntei", "ja falei", "ja disse", "reclame aqui", "que demora", "to esperando",
    "estou esperando", "falta de respeito", "que droga", "nao serve para nada",
    "servico horrivel", "atendimento horrivel", "atendimento ruim", "chatbot ruim", "robo ruim",
    "que saco", "vou reclamar", "vou processar", "procon",
)
IRRITADO_PALAVRAS = (
    "pessimo", "pessima", "horrivel", "inutil", "absurdo", "ridiculo", "ridicula", "lixo",
    "palhacada", "vergonha", "descaso", "affs", "aff", "irritado", "irritada", "decepcionado",
    "decepcionada", "porcaria", "reclamar", "reclamacao", "indignado", "indignada",
)
IRRITADO_EMOJIS = ("😡", "😤", "🤬", "😠", "👎")
HUMANO = (
    "atendente", "humano", "humana", "pessoa de verdade", "alguem de verdade", "pessoa real",
    "falar com uma pessoa", "falar com alguem", "chama alguem", "chamar alguem",
    "gerente", "operador", "operadora", "atendimento humano", "falar com o dono",
    "ser humano", "uma pessoa",
)
# The bot handed the customer over (phone, e-mail, team): the request was served.
ENCAMINHOU = ("vou transferir", "transferindo", "vou te transferir", "nossa equipe",
              "telefone", "email", "e mail", "deixei seu contato", "registrei o pedido de contato",
              "vou te passar", "vou passar voce", "um atendente vai", "ligar para voce")
RECUSOU = ("nao e possivel transferir", "nao posso transferir", "sou um assistente virtual",
           "nao consigo transferir")
FECHAMENTO = (
    "ok", "okay", "obrigado", "obrigada", "brigado", "brigada", "valeu", "beleza", "certo",
    "entendi", "tchau", "show", "top", "perfeito", "otimo", "blz", "ah", "hmm", "sim", "nao",
    "de nada", "combinado", "legal", "joia", "muito", "tudo", "bem", "boa", "bom", "dia", "tarde",
    "noite", "ate", "mais", "esta", "ajuda", "pela", "oi", "ola", "opa", "eae",
)
SAUDACAO = ("oi", "ola", "opa", "eae", "oii", "oie", "bom", "boa", "dia", "tarde", "noite", "tudo",
            "bem", "td", "como", "vai", "e", "ai", "salve", "hello", "hi", "ok", "certo")
AGRADECIMENTO = ("obrigado", "obrigada", "brigado", "brigada", "valeu", "agradeco", "perfeito",
                 "otimo", "show", "top", "resolvido", "ajudou")


@dataclass
class Deteccao:
    """Problems found in one conversa and the rating they suggest."""

    problemas: list[str] = field(default_factory=list)
    avaliacao_sugerida: str | None = None


def _only_words(text: str, vocabulary: tuple[str, ...]) -> bool:
    tokens = text.split()
    return bool(tokens) and all(t in vocabulary for t in tokens)


def is_closing(text: str) -> bool:
    """An acknowledgement or thanks that needs no answer ("ok", "vlw", "obg!")."""
    return _only_words(normalize(text), FECHAMENTO)


def is_greeting(text: str) -> bool:
    return _only_words(normalize(text), SAUDACAO)


def _is_fallback(text: str) -> bool:
    return matches(text, FALLBACK)


def _is_vague(text: str) -> bool:
    return matches(text, VAGA)


def _is_angry(raw: str, text: str) -> bool:
    if any(e in raw for e in IRRITADO_EMOJIS):
        return True
    letters = [c for c in raw if c.isalpha()]
    shouting = len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.8
    return shouting or matches(text, IRRITADO_FRASES, IRRITADO_PALAVRAS)


def _asks_human(text: str) -> bool:
    return matches(text, HUMANO, ("atendente", "humano"))


def _similar(a: str, b: str) -> bool:
    """Two customer messages that ask the same thing (same words, or one inside the other)."""
    wa, wb = set(a.split()), set(b.split())
    if len(wa) < 2 or len(wb) < 2:
        return False
    if a in b or b in a:
        return True
    if len(wa & wb) / len(wa | wb) >= 0.6:
        return True
    matcher = SequenceMatcher(None, a, b)
    return matcher.quick_ratio() >= 0.85 and matcher.ratio() >= 0.85


def detect_problems(mensagens: list[tuple[str, str]]) -> Deteccao:
    """Problems of one conversa, from its messages as (role, content) in order."""
    norm = [(role, normalize(content), content) for role, content in mensagens]
    found: list[str] = []

    def add(code: str) -> None:
        if code not in found:
            found.append(code)

    perguntas: list[tuple[int, str]] = []
    for i, (role, text, raw) in enumerate(norm):
        previous_user = next((t for r, t, _ in reversed(norm[:i]) if r == "user"), "")
        if role == "assistant":
            if _is_fallback(text):
                add("fallback")
            elif _is_vague(text) and not _only_words(previous_user, FECHAMENTO):
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
    for role, text, _ in norm[asked + 1:again]:
        if role != "assistant" or _is_fallback(text) or _is_vague(text):
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
    """The last word is the customer's, and it is not a mere "ok"/"obrigado"."""
    if not norm or norm[-1][0] != "user":
        return False
    return not _only_words(norm[-1][1], FECHAMENTO)


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
