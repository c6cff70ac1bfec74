"""The export's bytes are pinned: speed work must not change a single byte of the files.

The expected hashes were computed with the export as it was before the speed work
(main at 413d90e); they cover the training and validation files and the report's
counts, for demo conversas of every demo cliente plus hand-made edge cases (personal
data of every kind, empty and blank messages, consecutive messages of one role, a
trailing customer message, duplicates, conversas without messages or answers).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

from hypothesis import given, settings, strategies as st
from sqlalchemy import text

from core.clientes.directory import get_cliente
from core.db.tables import Conversa, Mensagem
from core.demo import generate as demo
from core.demo.content import CLIENTES
from core.training.dataset import build_training_files

ANCHOR = dt.datetime(2026, 11, 20)

EDGE_CASES = [
    [("user", "meu cpf é 529.982.247-25 e o cnpj 11.222.333/0001-81"), ("assistant", "Anotado!")],
    [("user", "  "), ("user", "fone (11) 98765-4321, e-mail maria.silva@gmail.com"),
     ("user", "CEP 01310-100, cartão 4111 1111 1111 1111"), ("assistant", "")],
    [("user", "pix 123e4567-e89b-12d3-a456-426614174000"), ("assistant", "ok"), ("assistant", "  certo  "),
     ("user", "pedido 4111111111111112 e protocolo 12345678900")],
    [("assistant", "Olá! Posso ajudar?")],
    [],
    [("user", "só uma pergunta")],
    [("user", "meu CEP é 01310100"), ("assistant", "Obrigado \u2028 \"aspas\" \\ 😀 \x01 \t </script>")],
    [("user", "tel 11987654321 ou 5511987654321 ou 987654321"), ("assistant", "Ligamos já.")],
    [("user", "tem pão?"), ("assistant", "Tem sim.")],
    [("user", "tem pão?"), ("assistant", "Tem sim.")],  # a duplicate of the one above
    [("user", "números ٥٢٩٩٨٢٢٤٧٢٥ e ５２９９８２２４７２５"), ("assistant", "ok\n\n")],
    [("user", "cnpj 11222333000181, cartão 5555555555554444, 3782 822463 10005"), ("assistant", "ok!")],
]

# sha256 of each cliente's files and report counts, computed with the pre-optimisation export.
EXPECTED = {
    "padaria-pao-dourado": "a19173297b570e42e54961088c463bc8198e50a2dce6415a00212d35334f43aa",
    "moda-bella": "91ec91d6bfacfdd65127c9d8fd7165d659811f4af677a3db6392d2be615e8d10",
    "farmacia-vida-mais": "aff6b2f113a48e87d2588fb0d1781937bf9d411d1c94338defc8dc331bcbbab4",
    "petshop-amigo-fiel": "e29d7527d5da50f595616cafe652676521ba6e2f7be29fb0ad3030e98df1ed54",
}


def _load(engine, session) -> None:
    demo.load_database(engine, demo.generate_conversations(600, seed=6, anchor=ANCHOR), ANCHOR)
    with engine.begin() as conn:
        # Most demo conversas become "boa"; a few stay out (rated "ruim" or unrated).
        conn.execute(text("UPDATE conversas SET avaliacao = 'boa' WHERE id % 7 <> 0"))
        # The reference predates the clientes' own details (kept by the redaction): without
        # them the export must stay byte-identical.
        conn.execute(text("UPDATE clientes SET proprio_telefones = NULL, proprio_emails = NULL, "
                          "proprio_cnpj = NULL, proprio_endereco = NULL, proprio_cep = NULL, "
                          "proprio_chave_pix = NULL"))
    cliente = get_cliente(session, "padaria-pao-dourado")
    start = dt.datetime(2026, 11, 21, 12)
    for n, mensagens in enumerate(EDGE_CASES):
        inicio = start + dt.timedelta(hours=n)
        conversa = Conversa(cliente_id=cliente.id, whatsapp=f"55119{n:08d}", iniciada_em=inicio,
                            ultima_mensagem_em=inicio, dia=inicio.date(), status="finalizada",
                            avaliacao="boa", total_mensagens=len(mensagens))
        session.add(conversa)
        session.flush()
        for i, (role, texto) in enumerate(mensagens):
            # Two messages share each timestamp: the message id breaks the tie.
            session.add(Mensagem(conversa_id=conversa.id, cliente_id=cliente.id, role=role, conteudo=texto,
                                 enviada_em=inicio + dt.timedelta(minutes=i // 2),
                                 redis_key=f"conversation:golden:{n}:{i}"))
        session.flush()
    session.commit()


def _reference_wording(aviso: str) -> str:
    """The warning as the reference worded it, before correct plurals (issue 22) replaced
    "(s)": only the words changed, the figures are the ones hashed."""
    aviso = re.sub(r"^(\S+) conversas? boas? puladas? ", r"\1 conversa(s) boa(s) pulada(s) ", aviso)
    aviso = re.sub(r"^(\S+) exemplos? duplicados?\.$", r"\1 exemplo(s) duplicado(s).", aviso)
    return re.sub(r"^(\S+) exemplos? sem ", r"\1 exemplo(s) sem ", aviso)


def _digest(report) -> str:
    h = hashlib.sha256()
    h.update(report.train_path.read_bytes())
    h.update(b"\0")
    if report.validation_path:
        h.update(report.validation_path.read_bytes())
    h.update(b"\0")
    h.update(json.dumps({
        "exemplos": report.exemplos, "validacao": report.exemplos_validacao,
        "puladas": report.puladas, "redacoes": report.redacoes, "tokens": report.tokens_exemplos,
        "tokens_validacao": report.tokens_validacao, "faturados": report.tokens_faturados,
        "maior": report.maior_exemplo_tokens, "erros": report.erros,
        "avisos": [_reference_wording(a) for a in report.avisos],
    }, sort_keys=True).encode())
    return h.hexdigest()


def test_the_export_of_demo_data_is_byte_identical_to_the_reference(engine, session, tmp_path, monkeypatch):
    monkeypatch.setenv("CURADORIA_DATASET_FRACAO_VALIDACAO", "0.2")
    monkeypatch.setenv("CURADORIA_DATASET_SEMENTE_DIVISAO", "curadoria")
    from core.config import reset_settings
    reset_settings()
    _load(engine, session)
    got = {}
    for c in CLIENTES:
        cliente = get_cliente(session, c["slug"])
        report = build_training_files(session, cliente.id, tmp_path / c["slug"])
        assert report.exemplos > 10 and report.exemplos_validacao > 0
        got[c["slug"]] = _digest(report)
    assert got == EXPECTED


# --- the export's one-pass builder equals the plain steps --------------------------------

_TEXTS = ["", "  ", "tem pão?", "Tem sim.", "meu cpf é 529.982.247-25", "fone (11) 98765-4321",
          "a@b.com", "CEP 01310100", "ok\n", "\u2028 \"x\" \\ 😀", "pedido #48213", "Olá!"]


def _plain(system_prompt: str, mensagens: list[tuple[str, str]], encoding: str):
    from collections import Counter

    from core.training import tokens as tk
    from core.training.examples import _ENCODER, _json_line, build_example

    counts: Counter = Counter()
    messages, motivo = build_example(system_prompt, mensagens, counts)
    if motivo:
        return None, 0, motivo, counts
    system_json = _ENCODER.encode({"role": "system", "content": system_prompt.strip()})
    return (_json_line(messages, system_json), tk.count_example_tokens(messages, encoding), None, counts)


@settings(max_examples=300, deadline=None)
@given(system_prompt=st.sampled_from(["", "  ", "Você é o atendente. \"Seja breve\"."]),
       conversas=st.lists(st.lists(st.tuples(st.sampled_from(["user", "assistant"]),
                                              st.one_of(st.sampled_from(_TEXTS), st.text(max_size=12))),
                                    max_size=7), min_size=1, max_size=6),
       cache=st.sampled_from([1, 2, 4096]))
def test_the_one_pass_builder_equals_build_example_count_and_json_line(system_prompt, conversas, cache):
    from collections import Counter

    from core.training.examples import ExampleLines

    redacoes: Counter = Counter()
    builder = ExampleLines("o200k_base", system_prompt, redacoes, limite=cache)
    expected_counts: Counter = Counter()
    for mensagens in conversas:
        rows = [(1, role, texto) for role, texto in mensagens] or [(1, None, None)]
        line, n, motivo, counts = _plain(system_prompt, mensagens, "o200k_base")
        expected_counts.update(counts)
        assert builder.build(iter(rows)) == (line, n, motivo)
    assert redacoes == expected_counts
    assert builder.has_system == bool(system_prompt.strip())


# --- fetching ahead ------------------------------------------------------------------------

def test_prefetched_batches_arrive_in_order_and_stop_at_the_first_empty_one():
    from core.training.dataset import _prefetched

    source = iter([[1, 2], [3], [], [99]])
    assert list(_prefetched(lambda: next(source))) == [[1, 2], [3]]


def test_a_consumer_that_stops_early_stops_and_joins_the_fetching_thread():
    import threading

    from core.training.dataset import _prefetched

    calls = []

    def fetch():
        calls.append(1)
        return [len(calls)]

    batches = _prefetched(fetch)
    assert next(batches) == [1]
    batches.close()
    assert not [t for t in threading.enumerate() if t.name == "curadoria-dataset-fetch"]
    assert len(calls) <= 3  # one batch consumed, at most one queued and one in hand


def test_an_error_while_fetching_reaches_the_consumer():
    import pytest

    from core.training.dataset import _prefetched

    source = iter([[1]])

    def fetch():
        try:
            return next(source)
        except StopIteration:
            raise RuntimeError("conexão perdida") from None

    batches = _prefetched(fetch)
    assert next(batches) == [1]
    with pytest.raises(RuntimeError, match="conexão perdida"):
        next(batches)
