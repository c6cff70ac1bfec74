"""Bot messages shaped like real WhatsApp chats, for bench/ingest.py --forma chats.

Short conversas (~5 messages, 1 to 11), a fixed set of returning contacts (12,000 by
default) who come back many times over 59 days, pt-BR text with varied wording, numbers
with and without the @c.us suffix, ~1 % same-millisecond collisions (the answer
overwrites the question, the key is pushed twice) and ~0.5 % malformed entries (not JSON,
missing or unknown role, a non-message key). Keys are pushed in time order, as the bot
does, and expire 60 days after their message.
"""
from __future__ import annotations

import json
import random

DAY_MS = 86_400_000
TTL_MS = 60 * DAY_MS

ABERTURAS = ["oi", "olá", "bom dia", "boa tarde", "boa noite", "oii", "e aí", "opa"]
PEDIDOS = [
    "cadê meu pedido {n}?", "minha entrega está atrasada", "quero cancelar o pedido {n}",
    "o boleto venceu, pode mandar outro?", "qual o prazo de entrega para o CEP {cep}?",
    "quero trocar o tamanho da camisa", "o produto veio com defeito", "paguei no pix e não confirmou",
    "preciso da nota fiscal do pedido {n}", "vocês entregam no sábado?", "tem cupom de desconto?",
    "quero falar com um atendente humano", "o rastreio não atualiza desde {d}",
    "quanto custa o frete para {cidade}?", "meu reembolso ainda não caiu", "mudei de endereço",
    "posso parcelar em {p} vezes?", "o site está fora do ar", "recebi o item errado",
]
RESPOSTAS = [
    "Claro! Vou verificar o pedido {n} para você.", "Sua entrega está prevista para {d}.",
    "Pronto, o cancelamento foi solicitado.", "Enviei um novo boleto para o seu e-mail.",
    "Para o CEP {cep} o prazo é de {p} dias úteis.", "A troca pode ser feita em até 30 dias.",
    "Sinto muito pelo defeito! Vamos providenciar a troca.", "O pix pode levar até 30 minutos.",
    "A nota fiscal foi enviada para o seu e-mail.", "Entregamos de segunda a sábado.",
    "Use o cupom BEMVINDO{p} na primeira compra.", "Vou transferir para um atendente.",
    "O código de rastreio é BR{n}BR.", "O frete para {cidade} custa R$ {p},90.",
    "O reembolso cai em até 7 dias úteis.", "Atualizei o seu endereço.",
    "Sim, em até {p}x sem juros.", "Já estamos verificando, obrigado pelo aviso.",
    "Pode me mandar uma foto do item recebido?",
]
FINAIS = ["obrigado", "valeu!", "ok", "certo, obrigada", "👍", "beleza", "perfeito"]
CIDADES = ["São Paulo", "Belo Horizonte", "Curitiba", "Recife", "Porto Alegre", "Salvador", "Manaus"]


def _fill(rng: random.Random, template: str) -> str:
    return template.format(n=rng.randint(10_000, 99_999), cep=f"{rng.randint(10_000, 99_999)}-000",
                           d=f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}",
                           cidade=rng.choice(CIDADES), p=rng.randint(2, 12))


def _conversa(rng: random.Random, size: int) -> list[tuple[str, str]]:
    falas = [("user", rng.choice(ABERTURAS))]
    while len(falas) < size:
        if falas[-1][0] == "user":
            falas.append(("assistant", _fill(rng, rng.choice(RESPOSTAS))))
        else:
            falas.append(("user", _fill(rng, rng.choice(PEDIDOS + FINAIS))))
    return falas


def _malformed(rng: random.Random, number: str, ts: int) -> tuple[str, str]:
    kind = rng.randrange(4)
    if kind == 0:
        return f"conversation:{number}:{ts}", "nao e json {"
    if kind == 1:
        return f"conversation:{number}:{ts}", json.dumps({"content": "sem role", "timestamp": ts})
    if kind == 2:
        return f"conversation:{number}:{ts}", json.dumps({"role": "system", "content": "x",
                                                          "timestamp": ts})
    return f"tracking_{number}", "1"


def chat_entries(mensagens: int, now_ms: int, contatos: int = 12_000, seed: int = 7):
    """(ts, key, value) of about `mensagens` list entries, sorted by time."""
    rng = random.Random(seed)
    numbers = []
    for _ in range(contatos):
        number = f"55{rng.randint(11, 99)}9{rng.randint(10_000_000, 99_999_999)}"
        numbers.append(number + rng.choices(["", "@c.us"], weights=[85, 15])[0])
    start = now_ms - 59 * DAY_MS
    entries = []
    while len(entries) < mensagens:
        number = rng.choice(numbers)
        ts = rng.randint(start, now_ms - 3_600_000)
        previous = None
        for role, content in _conversa(rng, min(11, max(1, int(rng.gauss(5, 2))))):
            if role == "assistant" and previous is not None and rng.random() < 0.01:
                ts = previous  # Date.now() twice in one millisecond
            if rng.random() < 0.005:
                key, value = _malformed(rng, number, ts)
            else:
                key = f"conversation:{number}:{ts}"
                value = json.dumps({"role": role, "content": content, "timestamp": ts,
                                    "phoneNumber": number}, ensure_ascii=False)
            entries.append((ts, key, value, number))
            previous = ts
            ts += rng.randint(3_000, 240_000)
    entries.sort(key=lambda e: e[0])
    return entries


def load_chats(client, prefix: str, mensagens: int, now_ms: int, contatos: int = 12_000,
               seed: int = 7, batch: int = 5_000) -> int:
    """Write the entries as the bot does (SET with expiry, RPUSH to both lists)."""
    pipe = client.pipeline(transaction=False)
    pending = 0
    for ts, key, value, number in chat_entries(mensagens, now_ms, contatos, seed):
        pipe.set(prefix + key, value, px=max(1, ts + TTL_MS - now_ms))
        pipe.rpush(f"{prefix}user_messages:{number}", prefix + key)
        pipe.rpush(f"{prefix}all_conversations", prefix + key)
        pending += 3
        if pending >= batch:
            pipe.execute()
            pending = 0
    pipe.execute()
    return client.llen(f"{prefix}all_conversations")
