"""Data for fine-tuning tests: a cliente with rated conversas that have messages."""
from __future__ import annotations

import datetime as dt

from core.clientes.directory import create_cliente
from core.db import session_scope
from core.db.tables import Conversa, Mensagem


def make_cliente(engine, slug: str = "loja-do-joao", boas: int = 40, ruins: int = 10,
                 sem: int = 3, modelo: str = "gpt-4o-mini-2024-07-18") -> int:
    """A cliente with `boas` good, `ruins` bad and `sem` unrated two-turn conversas."""
    start = dt.datetime(2026, 11, 1, 12)
    with session_scope(engine) as session:
        cliente = create_cliente(session, slug, nome=slug.replace("-", " ").title(),
                                 modelo_base=modelo,
                                 system_prompt="Você é o atendente da loja.")
        avaliacoes = ["boa"] * boas + ["ruim"] * ruins + [None] * sem
        for i, avaliacao in enumerate(avaliacoes):
            when = start + dt.timedelta(minutes=10 * i)
            conversa = Conversa(cliente_id=cliente.id, whatsapp=f"55119{i:08d}",
                                iniciada_em=when, ultima_mensagem_em=when, dia=when.date(),
                                status="finalizada", avaliacao=avaliacao)
            session.add(conversa)
            session.flush()
            falas = [("user", f"Olá, qual o horário de funcionamento da loja {i}?"),
                     ("assistant", f"Abrimos das 8h às 18h, pedido {i}. Posso ajudar?"),
                     ("user", "Vocês entregam no sábado?"),
                     ("assistant", f"Sim, entregamos aos sábados até as 14h ({i}).")]
            for j, (role, texto) in enumerate(falas):
                session.add(Mensagem(conversa_id=conversa.id, cliente_id=cliente.id, role=role,
                                     conteudo=texto, enviada_em=when + dt.timedelta(seconds=j),
                                     redis_key=f"{slug}:{i}:{j}"))
        return cliente.id
