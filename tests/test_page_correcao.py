"""Writing, editing and removing a correction on a conversa's card (AppTest)."""
from __future__ import annotations

from sqlalchemy import select

from core.db import session_scope
from core.db.tables import Mensagem
from core.db.tables_correcoes import Correcao
from tests.conversas_factory import add_cliente, add_conversa, seed_engine
from tests.pages_helpers import logged_in_dashboard, shown

PAGE = "pages/screens/conversas.py"
HOSTILE = "**Abrimos** <script>alert(1)</script> [aqui](javascript:x) :material/home:"


def _seed(engine) -> tuple[int, int, int]:
    ids = {}

    def build(session):
        loja = add_cliente(session)
        conversa = add_conversa(session, loja, ["Abre domingo?", "Não abrimos.", "Certeza?", "Sim."],
                                avaliacao="ruim")
        ids["conversa"] = conversa.id
        ids["msgs"] = list(session.scalars(select(Mensagem.id).where(Mensagem.conversa_id == conversa.id)
                                           .order_by(Mensagem.id)))
    seed_engine(engine, build)
    return ids["conversa"], ids["msgs"][0], ids["msgs"][1]


def _rows(engine):
    with session_scope(engine) as session:
        return [(c.mensagem_id, c.resposta_correta, c.criada_por, c.atualizada_por)
                for c in session.scalars(select(Correcao))]


def _open(at, conversa_id: int):
    """Open the card's "Ver conversa completa" (a closed card reads no messages)."""
    at.session_state[f"abrir-{conversa_id}"] = True
    return at.run()


def _texts(at) -> list[str]:
    return [t.value for t in at.text]


def test_write_edit_and_remove_a_correction_on_the_card(engine):
    conversa_id, user_id, bot_id = _seed(engine)
    at = _open(logged_in_dashboard(engine, page=PAGE), conversa_id)
    assert not at.exception, at.exception
    assert not [b for b in at.button if b.key == f"corr-corrigir-{user_id}"]  # customer's: no button

    at.button(key=f"corr-corrigir-{bot_id}").click().run()
    at.text_area(key=f"corr-texto-{bot_id}").input("  ").run()
    at.button(key=f"corr-salvar-{bot_id}").click().run()
    assert any("vazia" in shown(e.value) for e in at.error)
    assert _rows(engine) == []

    at.text_area(key=f"corr-texto-{bot_id}").input(HOSTILE).run()
    at.button(key=f"corr-salvar-{bot_id}").click().run()
    assert not at.exception, at.exception
    assert _rows(engine) == [(bot_id, HOSTILE, "ana", None)]
    texts = _texts(at)
    assert f"Correção: {HOSTILE}" in texts  # on the card, under "Bot: Não abrimos."
    assert texts.index("Bot: Não abrimos.") + 1 == texts.index(f"Correção: {HOSTILE}")
    assert HOSTILE in texts  # in the full conversation, as plain text
    assert any("Corrigida por ana" in c.value for c in at.caption)
    with session_scope(engine) as session:
        from core.db.tables import Conversa
        assert session.get(Conversa, conversa_id).avaliacao == "ruim"

    at.button(key=f"corr-editar-{bot_id}").click().run()
    assert at.text_area(key=f"corr-texto-{bot_id}").value == HOSTILE
    at.text_area(key=f"corr-texto-{bot_id}").input("Abrimos domingo das 8h às 12h.").run()
    at.button(key=f"corr-salvar-{bot_id}").click().run()
    assert _rows(engine) == [(bot_id, "Abrimos domingo das 8h às 12h.", "ana", "ana")]
    assert "Correção: Abrimos domingo das 8h às 12h." in _texts(at)
    assert any("alterada por ana" in c.value for c in at.caption)

    at.button(key=f"corr-remover-{bot_id}").click().run()
    assert _rows(engine) == []
    assert not any(t.startswith("Correção:") for t in _texts(at))
    assert at.button(key=f"corr-corrigir-{bot_id}")


def test_cancel_leaves_nothing_and_the_linked_conversation_has_its_own_controls(engine):
    conversa_id, _, bot_id = _seed(engine)
    at = _open(logged_in_dashboard(engine, page=PAGE), conversa_id)
    at.button(key=f"corr-corrigir-{bot_id}").click().run()
    at.button(key=f"corr-cancelar-{bot_id}").click().run()
    assert _rows(engine) == [] and at.button(key=f"corr-corrigir-{bot_id}")
    at.query_params["conversa"] = str(conversa_id)
    at.run()
    at.button(key=f"link-corr-corrigir-{bot_id}").click().run()
    at.text_area(key=f"link-corr-texto-{bot_id}").input("Abrimos sim.").run()
    at.button(key=f"link-corr-salvar-{bot_id}").click().run()
    assert _rows(engine) == [(bot_id, "Abrimos sim.", "ana", None)]


def test_dados_de_treino_previews_and_downloads_the_preference_file(engine):
    def build(session):
        loja = add_cliente(session)
        for i in range(10):
            conversa = add_conversa(session, loja, [f"Abre domingo {i}? cpf 529.982.247-25",
                                                    f"Não abrimos ({i})."], avaliacao="ruim")
            bot = session.scalar(select(Mensagem.id).where(Mensagem.conversa_id == conversa.id,
                                                           Mensagem.role == "assistant"))
            from core.review.corrections import save_correction
            save_correction(session, bot, f"Abrimos **domingo** ({i}), fone (11) 98765-4321.", "ana")
    seed_engine(engine, build)
    at = logged_in_dashboard(engine, page="pages/screens/dados_treino.py")
    at.button(key="gerar-dpo").click().run()
    assert not at.exception, at.exception
    assert "O arquivo de preferências passa na validação." in [s.value for s in at.success]
    texts = _texts(at)
    assert "Cliente: Abre domingo 0? cpf [CPF]" in texts
    assert "Preferida: Abrimos **domingo** (0), fone [TELEFONE]." in texts
    assert "Não preferida: Não abrimos (0)." in texts
    assert at.get("download_button")


def test_a_correction_past_the_card_s_first_lines_is_announced_on_the_card(engine):
    ids = {}

    def build(session):
        loja = add_cliente(session)
        conversa = add_conversa(session, loja, ["Oi", "Olá!", "Abre domingo?", "Não.", "Certeza?", "Sim."])
        ids["conversa"] = conversa.id
        ids["ultima"] = max(session.scalars(select(Mensagem.id).where(Mensagem.conversa_id == conversa.id)))
        from core.review.corrections import save_correction
        save_correction(session, ids["ultima"], "Sim, das 8h às 12h.", "ana")
    seed_engine(engine, build)
    at = _open(logged_in_dashboard(engine, page=PAGE), ids["conversa"])
    assert any("Mais 1 resposta do bot corrigida" in shown(c.value) for c in at.caption)
    assert "Sim, das 8h às 12h." in _texts(at)  # in the full conversation
