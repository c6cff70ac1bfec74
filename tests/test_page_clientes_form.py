"""The Clientes page creates and edits a cliente (name, slug, Redis source, system prompt)
with the command line's checks, and says in pt-BR what is wrong (AppTest, both databases)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.db.tables import Cliente
from tests.conversas_factory import add_cliente, seed_engine
from tests.pages_helpers import logged_in_dashboard, shown

PAGE = "pages/screens/clientes.py"


def fill(at, key: str, **values) -> None:
    for campo, valor in values.items():
        widget = at.number_input(key=f"{key}_{campo}") if campo == "redis_db" \
            else at.text_area(key=f"{key}_{campo}") if campo == "system_prompt" \
            else at.text_input(key=f"{key}_{campo}")
        widget.set_value(valor)


def submit(at, label: str):
    [botao] = [b for b in at.button if b.label == label]
    botao.click()
    return at.run()


def errors(at) -> list[str]:
    return [shown(e.value) for e in at.error]


def clientes(engine) -> list[Cliente]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Cliente).order_by(Cliente.id)))


def test_a_new_cliente_is_created_with_its_redis_source_and_system_prompt(engine):
    at = logged_in_dashboard(engine, page=PAGE)
    assert not at.exception
    assert [e.label for e in at.expander][0] == "Novo cliente"
    fill(at, "novo_cliente", nome="Padaria Pão Dourado", slug="",
         redis_url="redis://:segredo@127.0.0.1:6379/3", redis_db=2, redis_prefix="bot1:",
         system_prompt="  Você é o atendente da padaria.  ")
    submit(at, "Criar cliente")
    assert not at.exception and errors(at) == []
    assert [shown(s.value) for s in at.success] == [
        "Cliente Padaria Pão Dourado (padaria-pao-dourado) criado."]
    assert at.selectbox(key="cliente_selecionado").value == "padaria-pao-dourado"
    [novo] = clientes(engine)
    assert (novo.nome, novo.slug, novo.redis_url, novo.redis_db, novo.redis_prefix,
            novo.system_prompt) == ("Padaria Pão Dourado", "padaria-pao-dourado",
                                    "redis://:segredo@127.0.0.1:6379/3", 2, "bot1:",
                                    "Você é o atendente da padaria.")


@pytest.mark.parametrize(("campos", "mensagem"), [
    ({"nome": "   "}, "Informe o nome do cliente."),
    ({"slug": "Padaria Dourada!"}, "Identificador de cliente inválido: 'padaria dourada!'. "
     "Use letras minúsculas, números e hífens (ex.: padaria-pao-dourado)."),
    ({"slug": "loja"}, "Já existe um cliente 'loja'."),
    ({"redis_url": "http://127.0.0.1:6379"}, "URL do Redis inválida: use redis://host:porta/N, "
     "rediss://... ou unix://..."),
    ({"redis_prefix": "bot *"}, "Prefixo de chaves inválido: até 100 caracteres, sem espaços "
     "nem * ? [ ]."),
], ids=["nome-vazio", "slug-invalido", "slug-repetido", "url-invalida", "prefixo-invalido"])
def test_bad_input_is_refused_with_a_portuguese_message_and_nothing_is_saved(
        engine, campos, mensagem):
    seed_engine(engine, lambda s: add_cliente(s, "loja", "Loja Exemplo"))
    at = logged_in_dashboard(engine, page=PAGE)
    fill(at, "novo_cliente", **{"nome": "Padaria Nova", **campos})
    submit(at, "Criar cliente")
    assert not at.exception
    assert errors(at) == [mensagem]
    assert [c.slug for c in clientes(engine)] == ["loja"]


def test_the_slug_check_is_the_command_line_s(engine, capsys):
    """`ingest --cliente` (which creates a missing cliente) refuses the same slug alike."""
    from core.__main__ import main

    at = logged_in_dashboard(engine, page=PAGE)
    fill(at, "novo_cliente", nome="Padaria", slug="Padaria Dourada!")
    submit(at, "Criar cliente")
    assert main(["ingest", "--cliente", "Padaria Dourada!",
                 "--redis-url", "redis://127.0.0.1:1/0"]) == 1
    assert capsys.readouterr().err.strip() == f"Erro: {errors(at)[0]}"


def test_an_existing_cliente_is_edited_and_stays_selected_under_its_new_slug(engine):
    seed_engine(engine, lambda s: (add_cliente(s, "loja", "Loja Exemplo"),
                                   add_cliente(s, "padaria", "Padaria")))
    at = logged_in_dashboard(engine, page=PAGE)
    at.selectbox(key="cliente_selecionado").set_value("loja").run()
    [loja_id] = [c.id for c in clientes(engine) if c.slug == "loja"]
    key = f"editar_{loja_id}"
    assert at.text_input(key=f"{key}_nome").value == "Loja Exemplo"

    fill(at, key, slug="padaria")  # another cliente's slug
    submit(at, "Salvar alterações")
    assert errors(at) == ["Já existe um cliente 'padaria'."]

    fill(at, key, nome="Loja do Centro", slug="loja-centro", system_prompt="Seja breve.")
    submit(at, "Salvar alterações")
    assert not at.exception and errors(at) == []
    assert [shown(s.value) for s in at.success] == ["Cliente Loja do Centro (loja-centro) salvo."]
    assert at.selectbox(key="cliente_selecionado").value == "loja-centro"
    with session_scope(engine) as session:
        loja = session.get(Cliente, loja_id)
        assert (loja.nome, loja.slug, loja.system_prompt) == ("Loja do Centro", "loja-centro",
                                                              "Seja breve.")
        assert session.scalar(select(func.count()).select_from(Cliente)) == 2
