"""The provider choice on the Clientes page and the Together confirm dialog on the
Fine-tuning page (Streamlit AppTest, real database, fake Together and vLLM)."""
from __future__ import annotations

from sqlalchemy import select

from core.db import session_scope
from core.db.tables import Cliente, FineTuningJob, ModeloHistorico
from tests.finetune_helpers import make_cliente
from tests.pages_helpers import logged_in_dashboard, shown
from tests.test_together_flow import BASE, SLUG, fakes, together_cliente  # noqa: F401


def _texts(at) -> str:
    return " ".join([*(m.value for m in at.markdown), *(c.value for c in at.caption),
                     *(t.value for t in at.text), *(w.value for w in at.warning),
                     *(i.value for i in at.info), *(e.value for e in at.error),
                     *(s.value for s in at.success)])


def test_the_clientes_page_sets_the_provider_and_base_model_without_moving_the_bot(engine):
    cliente_id = make_cliente(engine, SLUG)
    at = logged_in_dashboard(engine, page="pages/screens/clientes.py")
    assert not at.exception
    at.selectbox(key=f"ft_provedor_{SLUG}").set_value("together").run()
    assert not at.exception
    modelo = at.selectbox(key=f"ft_modelo_base_{SLUG}_together")
    assert modelo.options == ["Qwen/Qwen3.5-9B", "Qwen/Qwen3-8B",
                              "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"]
    assert "sem data de desligamento" in _texts(at)
    modelo.set_value("Qwen/Qwen3-8B").run()
    at.button(key="btn_ft_provedor").click().run()
    assert not at.exception
    with session_scope(engine) as session:
        cliente = session.get(Cliente, cliente_id)
        assert (cliente.provedor, cliente.modelo_base) == ("together", "Qwen/Qwen3-8B")
        assert cliente.modelo_ativo == "gpt-4o-mini-2024-07-18"  # the bot keeps its model
        assert [h.motivo for h in session.scalars(select(ModeloHistorico))] == [
            "troca_de_provedor"]
    assert "Próximo fine-tuning: Together AI" in _texts(at)


def test_the_confirm_dialog_for_together_shows_its_price_and_starts_one_together_job(
        engine, fakes):  # noqa: F811
    together_fake, _ = fakes
    together_cliente(engine)
    at = logged_in_dashboard(engine, page="pages/screens/fine_tuning.py")
    next(b for b in at.button if b.label == "Iniciar Fine-tuning").click()
    at.run()
    assert not at.exception
    texto = _texts(at)
    assert "Provedor: **Together AI" in texto
    assert "Custo estimado pelo provedor: **US$" in texto and "tokens de treino" in texto
    assert BASE in shown(texto) and "sem data de desligamento" in texto
    assert together_fake.jobs == {}  # nothing started before confirming
    next(b for b in at.button if b.label == "Sim, Iniciar").click()
    at.run()
    assert not at.exception
    with session_scope(engine) as session:
        [row] = session.scalars(select(FineTuningJob)).all()
    assert row.provedor == "together" and len(together_fake.jobs) == 1
    assert together_fake.only_job()["suffix"] == SLUG
