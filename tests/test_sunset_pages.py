"""Page tests (AppTest): the shutdown banner on Visão geral, Fine-tuning and Clientes, and
the contingency model edited on the Clientes page."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from core.db import session_scope
from core.db.tables import Cliente, ModeloDesligamento
from core.finetune import shutdown_dates
from tests.pages_helpers import logged_in_dashboard, shown
from tests.poll_helpers import make_cliente

FT = "ft:gpt-4.1-mini-2025-04-14:acme:padaria:abc123"


def dying_cliente(engine, days: int, slug: str = "padaria") -> tuple[int, dt.date]:
    """A cliente on a fine-tune whose base the provider shuts down in `days` days."""
    data = shutdown_dates.today() + dt.timedelta(days=days)
    cliente_id = make_cliente(engine, slug)
    with session_scope(engine) as session:
        session.execute(update(Cliente).where(Cliente.id == cliente_id).values(modelo_ativo=FT))
        session.merge(ModeloDesligamento(modelo="gpt-4.1-mini-2025-04-14", provedor="openai",
                                         fonte="api", desligamento=data,
                                         atualizado_em=dt.datetime.now()))
    return cliente_id, data


def banners(at) -> list[str]:
    return [shown(w.value) for w in at.warning if "será desligado" in shown(w.value)
            or "foi desligado" in shown(w.value)]


@pytest.mark.parametrize("page", ["pages/screens/visao_geral.py", "pages/screens/fine_tuning.py",
                                  "pages/screens/clientes.py"])
def test_the_banner_says_when_the_model_shuts_down_and_what_to_do(engine, page):
    _, data = dying_cliente(engine, 12)
    at = logged_in_dashboard(engine, page=page)
    assert not at.exception
    [banner] = banners(at)
    assert f"será desligado pelo provedor em {data:%d/%m/%Y}, daqui a 12 dias" in banner
    assert FT in banner and "Padaria" in banner
    assert "modelo aberto" in banner and "contingência" in banner


def test_no_banner_when_every_model_is_far_from_its_shutdown(engine):
    dying_cliente(engine, 46)
    at = logged_in_dashboard(engine, page="pages/screens/visao_geral.py")
    assert not at.exception and banners(at) == []


def test_the_clientes_page_sets_a_contingency_and_refuses_one_that_shuts_down_too(engine):
    cliente_id, data = dying_cliente(engine, 12)
    at = logged_in_dashboard(engine, page="pages/screens/clientes.py")
    assert "Nenhum modelo de contingência definido." in [c.value for c in at.caption]

    at.text_input(key="contingencia_modelo_padaria").input("gpt-4.1-mini-2025-04-14")
    at.button(key="btn_contingencia").click()
    at.run()
    assert not at.exception
    assert any("não serve de contingência" in e.value for e in at.error)
    with session_scope(engine) as session:
        assert session.get(Cliente, cliente_id).modelo_contingencia is None

    at.text_input(key="contingencia_modelo_padaria").input("padaria-lora")
    at.text_input(key="contingencia_endpoint_padaria").input("http://vllm:8000/v1")
    at.button(key="btn_contingencia").click()
    at.run()
    assert not at.exception
    with session_scope(engine) as session:
        cliente = session.get(Cliente, cliente_id)
        assert (cliente.modelo_contingencia, cliente.modelo_contingencia_endpoint) == (
            "padaria-lora", "http://vllm:8000/v1")
    assert any("Contingência salva: padaria-lora" in s.value for s in at.success)
    assert any("`padaria-lora`" in c.value and "deste cliente" in c.value for c in at.caption)
    [banner] = banners(at)
    assert "padaria-lora" in banner


def test_visao_geral_lists_every_clientes_model_endpoint_and_days_left(engine):
    _, data = dying_cliente(engine, 12)
    make_cliente(engine, "loja")
    at = logged_in_dashboard(engine, page="pages/screens/visao_geral.py")
    assert not at.exception
    tabela = at.dataframe[-1].value
    linhas = {row["Cliente"]: row for row in tabela.to_dict("records")}
    assert linhas["Padaria"]["Modelo em uso"] == FT
    # The endpoint is long: it is written under the table, one line per cliente.
    enderecos = "\n".join(shown(c.value) for c in at.caption)
    assert "**Padaria**: endpoint https://api.openai.com/v1 · contingência:" in enderecos
    assert linhas["Padaria"]["Desligamento"] == f"{data:%d/%m/%Y}"
    assert linhas["Padaria"]["Dias restantes"] == 12
    assert linhas["Loja"]["Provedor"] == "OpenAI"  # the provider as a person names it


def test_the_banner_says_when_the_contingency_shuts_down_too(engine, monkeypatch):
    from core import config as config_module

    monkeypatch.setenv("CURADORIA_MODELO_CONTINGENCIA", "gpt-4.1-mini-2025-04-14")
    config_module.reset_settings()
    dying_cliente(engine, 12)
    at = logged_in_dashboard(engine, page="pages/screens/fine_tuning.py")
    [banner] = banners(at)
    assert "também será desligado em breve e não será usado" in banner
