"""Demo data: realistic pt-BR, deterministic, in the database or in the bot's Redis format."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter

from sqlalchemy import text

from core.clock import to_epoch_ms
from core.demo import generate as demo
from tests.conftest import empty_database

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
ANCHOR = demo.default_anchor()


def _all_text(conversas) -> str:
    return "\n".join(m[1] for c in conversas for m in c.mensagens)


def test_same_seed_gives_identical_conversations_and_other_seed_does_not():
    a = demo.dump_jsonl(demo.generate_conversations(300, seed=7, anchor=ANCHOR))
    b = demo.dump_jsonl(demo.generate_conversations(300, seed=7, anchor=ANCHOR))
    c = demo.dump_jsonl(demo.generate_conversations(300, seed=8, anchor=ANCHOR))
    assert a == b and a != c


def test_demo_covers_topics_outcomes_clientes_and_real_whatsapp_habits():
    conversas = list(demo.generate_conversations(2000, seed=1, anchor=ANCHOR))
    assert {c.topico for c in conversas} == set(demo.TOPICOS)
    assert {c.desfecho for c in conversas} == {"boa", "fallback", "vaga", "irritado", "humano",
                                              "sem_resposta", "repetiu"}
    assert len({c.cliente_slug for c in conversas}) >= 3
    texto = _all_text(conversas)
    assert re.search(r"\d{3}\.\d{3}\.\d{3}-\d{2}", texto)  # CPF typed with punctuation
    assert re.search(r"[\w.]+@[\w.]+\.\w+", texto)  # e-mail
    assert re.search(r"\(\d{2}\) 9\d{4}-\d{4}", texto)  # phone
    assert "Desculpe, não encontrei essa informação" in texto
    for word in (" vc", "blz", "pfv", "Pix", "frete", "troca", "atendente", "😊"):
        assert word.lower() in texto.lower(), word
    rated = Counter(c.avaliacao for c in conversas)
    assert 0.25 < (rated["boa"] + rated["ruim"]) / len(conversas) < 0.45


def test_a_contacts_conversas_never_overlap_within_the_inactivity_window():
    by_number: dict[tuple, list] = {}
    for c in demo.generate_conversations(3000, seed=2, anchor=ANCHOR):
        by_number.setdefault((c.cliente_slug, c.whatsapp), []).append(c)
    for conversas in by_number.values():
        for before, after in zip(conversas, conversas[1:]):
            assert after.inicio_ms - before.fim_ms > demo.INATIVIDADE_MS


def _dump_database(engine) -> list:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT c.whatsapp, c.iniciada_em, c.status, c.avaliacao, c.avaliado_por,"
            " m.role, m.conteudo, m.enviada_em, m.redis_key FROM conversas c"
            " JOIN mensagens m ON m.conversa_id = c.id ORDER BY c.id, m.id"))]


def test_demo_command_twice_with_seed_7_writes_identical_data(engine, monkeypatch):
    def run():
        empty_database(engine)
        subprocess.run([sys.executable, "-m", "core", "demo", "--conversas", "150", "--seed", "7",
                        "--ate", "2026-11-01"], check=True, cwd=ROOT, capture_output=True)
        return _dump_database(engine)

    first, second = run(), run()
    assert len(first) > 150 * 4
    assert first == second


def test_demo_into_the_database_keeps_the_rollup_exact(engine):
    demo.load_database(engine, demo.generate_conversations(500, seed=5, anchor=ANCHOR), ANCHOR)
    with engine.connect() as conn:
        rollup = dict(conn.execute(text(
            "SELECT COALESCE(avaliacao, 'sem'), sum(total) FROM conversas_resumo GROUP BY 1")).all())
        real = dict(conn.execute(text(
            "SELECT COALESCE(avaliacao, 'sem'), count(*) FROM conversas GROUP BY 1")).all())
    assert {k: int(v) for k, v in rollup.items()} == real


def test_if_empty_leaves_an_existing_database_alone(engine):
    demo.load_database(engine, demo.generate_conversations(20, seed=5, anchor=ANCHOR), ANCHOR)
    out = subprocess.run([sys.executable, "-m", "core", "demo", "--if-empty"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "nada foi gerado" in out
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM conversas")) == 20


def test_redis_demo_writes_the_bots_format_lists_of_keys_ttl_and_collisions(redis_client, redis_prefix):
    conversas = list(demo.generate_conversations(400, seed=9, anchor=ANCHOR))
    now_ms = to_epoch_ms(ANCHOR) + 3_600_000
    summary = demo.load_redis(redis_client, conversas, prefix=redis_prefix, seed=9, now_ms=now_ms)
    all_keys = [k.decode() for k in redis_client.lrange(f"{redis_prefix}all_conversations", 0, -1)]
    assert len(all_keys) == sum(len(c.mensagens) for c in conversas) == summary.chaves_redis
    assert summary.colisoes > 0 and len(set(all_keys)) == len(all_keys) - summary.colisoes
    live = [k for k in set(all_keys) if redis_client.exists(k)]
    expired = {k for k in all_keys if int(k.rsplit(":", 1)[1]) + demo.TTL_MS <= now_ms}
    assert expired and set(live) == set(all_keys) - expired
    payload = json.loads(redis_client.get(live[0]))
    assert set(payload) - {"model"} == {"role", "content", "timestamp", "phoneNumber"}
    ttl_days = redis_client.pttl(live[0]) / 86_400_000
    assert 0 < ttl_days <= 60
    assert redis_client.ttl(f"{redis_prefix}all_conversations") > 59 * 86400
    suffixed = [c for c in conversas if "@" in c.whatsapp_bruto][0]
    lista = redis_client.lrange(f"{redis_prefix}user_messages:{suffixed.whatsapp_bruto}", 0, -1)
    assert lista and all(k.decode().startswith(f"{redis_prefix}conversation:{suffixed.whatsapp_bruto}:")
                         for k in lista)
    unrelated = list(redis_client.scan_iter(match=f"{redis_prefix}*_*", count=1000))
    assert any(k.decode().split(redis_prefix)[1].startswith(("first_message_", "tracking_",
               "waiting_cpf_", "pending_order_")) for k in unrelated)
    assert to_epoch_ms(ANCHOR) > payload["timestamp"]
