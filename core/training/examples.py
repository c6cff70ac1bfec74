"""One training example: built from a conversa's messages and checked like the provider.

A conversa becomes one chat example (redacted, consecutive messages of a role merged,
ending on the assistant), written as one JSONL line with its exact token count; the
checks are those of OpenAI's data-preparation guide, plus the token limit and duplicates.
core.training.dataset streams a cliente's conversas through these.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable

from core.formato import plural
from core.training import tokens as tk
from core.training.own_details import OwnDetails
from core.training.redaction import redact_text

MIN_EXEMPLOS = 10
ROLES_VALIDOS = ("system", "user", "assistant", "function")
CHAVES_VALIDAS = ("role", "content", "name", "function_call", "weight")

# OpenAI's data-prep format errors (keys of ExampleChecker.erros_formato), in pt-BR.
ERROS_FORMATO = {
    "json_invalido": "linha que não é JSON válido",
    "data_type": "exemplo que não é um objeto JSON",
    "missing_messages_list": "exemplo sem a lista 'messages'",
    "message_missing_key": "mensagem sem 'role' ou 'content'",
    "message_unrecognized_key": "mensagem com chave não reconhecida",
    "unrecognized_role": "mensagem com papel (role) não reconhecido",
    "missing_content": "mensagem sem conteúdo",
    "invalid_weight": "'weight' diferente de 0 ou 1, ou fora de mensagem do assistente",
    "example_missing_assistant_message": "exemplo sem mensagem do assistente",
}


# --- checking examples --------------------------------------------------------------------

class BloomFilter:
    """A fixed-size set of hashes: constant memory whatever the number of examples.

    A false positive would mark a unique example as a duplicate; with the default size
    (8 MiB, 3 hashes) that is about 1 in 10 million examples at 100k examples and under
    1 in 10,000 at a million.
    """

    def __init__(self, bits: int = 1 << 26, hashes: int = 3):
        self.bits = bits
        self.hashes = hashes
        self.array = bytearray(bits // 8)

    def add(self, data: bytes) -> bool:
        """Add; True when it (probably) was there already."""
        h = int.from_bytes(hashlib.blake2b(data, digest_size=16).digest(), "little")
        h1, h2 = h & 0xFFFF_FFFF_FFFF_FFFF, (h >> 64) | 1  # double hashing: k indices from two
        array, bits, seen = self.array, self.bits, True
        for i in range(self.hashes):
            bit = (h1 + i * h2) % bits
            byte, mask = bit >> 3, 1 << (bit & 7)
            value = array[byte]
            if not value & mask:
                seen = False
                array[byte] = value | mask
        return seen


class ExampleChecker:
    """OpenAI's data-prep checks on a stream of examples, plus ours (limit, duplicates)."""

    def __init__(self, encoding: str, limite: int):
        self.encoding = encoding
        self.limite = limite
        self.erros_formato: Counter = Counter()
        self.exemplos = 0
        self.sem_system = 0
        self.sem_user = 0
        self.acima_limite = 0
        self.duplicados = 0
        self.tokens = 0
        self.tokens_cobrados = 0
        self.maior = 0
        self._vistos: BloomFilter | None = None  # allocated on the first parsed example

    def check_line(self, line: str) -> None:
        try:
            example = json.loads(line)
        except ValueError:
            self.exemplos += 1
            self.erros_formato["json_invalido"] += 1
            return
        self.check(example, line.strip().encode())

    def check(self, example, raw: bytes | None = None) -> list[str]:
        """Check one example; returns its format error codes (also counted)."""
        self.exemplos += 1
        errors = format_errors(example)
        self.erros_formato.update(errors)
        if errors:
            return errors
        messages = example["messages"]
        roles = {m.get("role") for m in messages}
        self.sem_system += "system" not in roles
        self.sem_user += "user" not in roles
        n = tk.count_example_tokens(messages, self.encoding)
        self.add_tokens(n)
        if raw is None:
            raw = json.dumps(example, ensure_ascii=False, sort_keys=True).encode()
        if self._vistos is None:
            self._vistos = BloomFilter()
        self.duplicados += self._vistos.add(raw)
        return errors

    def add_tokens(self, n: int) -> None:
        self.tokens += n
        self.tokens_cobrados += min(n, self.limite)
        self.maior = max(self.maior, n)
        self.acima_limite += n > self.limite

    def messages(self) -> tuple[list[str], list[str]]:
        """(blocking errors, warnings) in pt-BR."""
        erros = [f"Formato: {ERROS_FORMATO.get(code, code)} ({plural(n, 'ocorrência')})."
                 for code, n in sorted(self.erros_formato.items())]
        if self.exemplos < MIN_EXEMPLOS:
            erros.append(f"São necessários pelo menos {MIN_EXEMPLOS} exemplos de treino; "
                         f"há {self.exemplos}.")
        if self.acima_limite:
            erros.append(f"{plural(self.acima_limite, 'exemplo')} acima do limite de {self.limite} tokens "
                         "do modelo (seriam truncados).")
        avisos = []
        if self.duplicados:
            avisos.append(f"{plural(self.duplicados, 'exemplo duplicado')}.")
        if self.sem_system:
            avisos.append(f"{plural(self.sem_system, 'exemplo')} sem mensagem de sistema (system prompt).")
        if self.sem_user:
            avisos.append(f"{plural(self.sem_user, 'exemplo')} sem mensagem do usuário.")
        return erros, avisos


def format_errors(example) -> list[str]:
    """The format checks of OpenAI's data-preparation guide, for one parsed example."""
    if not isinstance(example, dict):
        return ["data_type"]
    messages = example.get("messages")
    if not messages or not isinstance(messages, list):
        return ["missing_messages_list"]
    errors = []
    for message in messages:
        if not isinstance(message, dict):
            errors.append("data_type")
            continue
        if "role" not in message or "content" not in message:
            errors.append("message_missing_key")
        if any(k not in CHAVES_VALIDAS for k in message):
            errors.append("message_unrecognized_key")
        if message.get("role") not in ROLES_VALIDOS:
            errors.append("unrecognized_role")
        content = message.get("content")
        if (not content and not message.get("function_call")) or not isinstance(content, str):
            errors.append("missing_content")
        if "weight" in message and (message["weight"] not in (0, 1) or isinstance(message["weight"], bool)
                                    or message.get("role") != "assistant"):
            errors.append("invalid_weight")
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        errors.append("example_missing_assistant_message")
    return errors


def validate_jsonl(lines: Iterable[str], modelo_base: str) -> tuple[list[str], list[str]]:
    """Validate a JSONL file (any source) as the provider would; (errors, warnings)."""
    checker = ExampleChecker(tk.encoding_name(modelo_base), tk.token_limit(modelo_base))
    for line in lines:
        if line.strip():
            checker.check_line(line)
    return checker.messages()


# --- building examples --------------------------------------------------------------------

class BoundedCache:
    """A memo of bounded size (two generations, an approximation of LRU): memory stays flat.

    Chat text repeats a lot (greetings, the bot's stock answers), and redacting and
    tokenizing a repeated message again costs tens of microseconds in pure Python. When
    the young generation is full it becomes the old one and the previous old one is
    dropped; a hit in the old generation moves the entry back to the young one.
    """

    def __init__(self, limite: int = 4096):
        self.limite = limite
        self.young: dict = {}
        self.old: dict = {}

    def get(self, key):
        value = self.young.get(key)
        if value is None:
            value = self.old.get(key)
            if value is not None:
                self.put(key, value)
        return value

    def put(self, key, value):
        if len(self.young) >= self.limite:
            self.old, self.young = self.young, {}
        self.young[key] = value
        return value


def _redact_cached(text: str, counts: Counter | None, cache: BoundedCache | None,
                   own: OwnDetails | None = None) -> str:
    if cache is None:
        return redact_text(text, counts, own)
    hit = cache.get(text)
    if hit is None:
        found: Counter = Counter()
        hit = cache.put(text, (redact_text(text, found, own), tuple(found.items())))
    if counts is not None:
        for kind, n in hit[1]:
            counts[kind] += n
    return hit[0]


def build_example(system_prompt: str, mensagens: Iterable[tuple[str, str]],
                  counts: Counter | None = None,
                  cache: BoundedCache | None = None,
                  own: OwnDetails | None = None) -> tuple[list[dict] | None, str | None]:
    """(messages, None) for a conversa, or (None, skip reason).

    Messages are redacted, empty ones dropped, consecutive ones of the same role merged,
    and trailing customer messages (never answered) cut so that it ends on the assistant.
    """
    merged: list[dict] = []
    for role, conteudo in mensagens:
        text = _redact_cached((conteudo or "").strip(), counts, cache, own)
        if not text:
            continue
        if merged and merged[-1]["role"] == role:
            merged[-1]["content"] += "\n" + text
        else:
            merged.append({"role": role, "content": text})
    if not merged:
        return None, "sem_mensagens"
    if not any(m["role"] == "user" for m in merged):
        return None, "sem_mensagem_do_usuario"
    while merged and merged[-1]["role"] != "assistant":
        merged.pop()
    if not any(m["role"] == "user" for m in merged):
        return None, "sem_resposta_do_assistente"
    system = system_prompt.strip()
    return ([{"role": "system", "content": system}] if system else []) + merged, None


class ExampleLines:
    """A conversa's rows -> its JSON line and token count, or the reason to skip it.

    The same result as build_example, then count_example_tokens and _json_line on its
    messages (tests/test_dataset_golden.py compares them on random conversas), in one pass
    made for the export loop: each distinct message text is stripped, redacted, counted
    and JSON-encoded once, memoized in a bounded cache (two generations, as BoundedCache),
    and the system message, the same in every line, is encoded and counted once.
    """

    def __init__(self, encoding: str, system_prompt: str, redacoes: Counter, limite: int = 4096,
                 own: OwnDetails | None = None):
        self._encode = tk.get_encoding(encoding).encode_ordinary
        self.redacoes = redacoes
        self._own = own
        system = system_prompt.strip()
        self.has_system = bool(system)
        if system:
            self.head = ('{"messages":[' + _ENCODER.encode({"role": "system", "content": system}) + ",")
            self.base_tokens = 3 + 3 + len(self._encode("system")) + len(self._encode(system))
        else:
            self.head = '{"messages":['
            self.base_tokens = 3
        self._roles: dict[str, tuple[str, int]] = {}
        self._found: Counter = Counter()
        self._limite = limite
        # raw content -> (redacted text, redactions by kind, text as JSON, text tokens)
        self._young: dict = {}
        self._old: dict = {}
        # a merged message's text -> (text as JSON, text tokens)
        self._merged_young: dict = {}
        self._merged_old: dict = {}

    def build(self, rows: Iterable[tuple]) -> tuple[str | None, int, str | None]:
        """(line, tokens, None) or (None, 0, skip reason) for (conversa_id, role, content) rows."""
        get = self._young.get
        redacoes = self.redacoes
        roles: list[str] = []
        entries: list = []  # per message: its cache entry, or the list of texts merged into it
        for _, role, conteudo in rows:
            # (A conversa without messages gives one row with role and content None: its
            # entry is the empty text, skipped like a blank message.)
            entry = get(conteudo)
            if entry is None:
                entry = self._entry(conteudo)
                get = self._young.get
            if entry[1]:
                for kind, n in entry[1]:
                    redacoes[kind] += n
            if not entry[0]:
                continue
            if roles and roles[-1] == role:
                last = entries[-1]
                if type(last) is list:
                    last.append(entry[0])
                else:
                    entries[-1] = [last[0], entry[0]]
            else:
                roles.append(role)
                entries.append(entry)
        if not roles:
            return None, 0, "sem_mensagens"
        if "user" not in roles:
            return None, 0, "sem_mensagem_do_usuario"
        while roles and roles[-1] != "assistant":
            roles.pop()
            entries.pop()
        if "user" not in roles:
            return None, 0, "sem_resposta_do_assistente"
        total = self.base_tokens
        parts = []
        for role, entry in zip(roles, entries):
            prefix, role_tokens = self._roles.get(role) or self._role(role)
            if type(entry) is list:
                text_json, n = self._merged("\n".join(entry))
            else:
                text_json, n = entry[2], entry[3]
            parts.append(prefix + text_json + "}")
            total += role_tokens + n
        return self.head + ",".join(parts) + "]}", total, None

    def _entry(self, conteudo: str) -> tuple:
        entry = self._old.get(conteudo)
        if entry is None:
            found = self._found  # one Counter reused: creating one per message costs ~1 µs
            found.clear()
            text = redact_text((conteudo or "").strip(), found, self._own)
            entry = (text, tuple(found.items()), _encode_string(text), len(self._encode(text)))
        if len(self._young) >= self._limite:
            self._old, self._young = self._young, {}
        self._young[conteudo] = entry
        return entry

    def _merged(self, text: str) -> tuple[str, int]:
        entry = self._merged_young.get(text) or self._merged_old.get(text)
        if entry is None:
            entry = (_encode_string(text), len(self._encode(text)))
        if len(self._merged_young) >= self._limite:
            self._merged_old, self._merged_young = self._merged_young, {}
        self._merged_young[text] = entry
        return entry

    def _role(self, role: str) -> tuple[str, int]:
        value = ('{"role":"' + role + '","content":', 3 + len(self._encode(role)))
        self._roles[role] = value
        return value


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_encode_string = json.encoder.encode_basestring  # what _ENCODER uses for str (C speedup)


def _json_line(messages: list[dict], system_json: str) -> str:
    """Exactly _ENCODER.encode({"messages": messages}), written out for speed.

    Our messages only ever hold a fixed role and a str content, so each one is
    '{"role":"...","content":"..."}'; the repeated system message is encoded once.
    """
    if messages[0]["role"] == "system":
        parts = [system_json]
        rest = messages[1:]
    else:
        parts, rest = [], messages
    parts += ['{"role":"' + m["role"] + '","content":' + _encode_string(m["content"]) + "}" for m in rest]
    return '{"messages":[' + ",".join(parts) + "]}"
