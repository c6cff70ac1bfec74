"""Which Redis belongs to a cliente: one rule for the import and for the model key."""
from __future__ import annotations

import pytest

from core import config as config_module
from core.clientes.redis_source import has_own_source, mask_url, own_source, resolve_source
from core.db.tables import Cliente
from core.finetune.deploy import redis_model_key, write_model_to_redis
from tests.conftest import REDIS_TEST_URL

# (the cliente's own URL?, redis_db, prefix, REDIS_URL set?) -> is the source its own?
CASES = {
    "its own url": (True, 0, "{prefix}", True, True),
    "its own url, no default": (True, 0, "{prefix}", False, True),
    "a prefix of its own on REDIS_URL": (False, 0, "{prefix}", True, True),
    "a database number of its own on REDIS_URL": (False, 5, "", True, True),
    "REDIS_URL as it is (anybody's keys)": (False, 0, "", True, False),
    "no Redis at all": (False, 0, "{prefix}", False, False),
}


@pytest.fixture
def default_redis(monkeypatch):
    def use(on: bool) -> None:
        if on:
            monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
        else:
            monkeypatch.delenv("REDIS_URL", raising=False)
        config_module.reset_settings()
    yield use
    config_module.reset_settings()


def _cliente(own_url: bool, db: int, prefix: str, redis_prefix: str) -> Cliente:
    return Cliente(slug="loja", nome="Loja", modelo_base="gpt-4.1-mini-2025-04-14",
                   redis_url=REDIS_TEST_URL if own_url else None, redis_db=db,
                   redis_prefix=prefix.format(prefix=redis_prefix))


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_poller_imports_from_and_writes_the_model_to_the_same_clientes(
        case, default_redis, redis_client, redis_prefix):
    own_url, db, prefix, default, expected = CASES[case]
    default_redis(default)
    cliente = _cliente(own_url, db, prefix, redis_prefix)
    assert has_own_source(cliente) is expected
    assert (own_source(cliente) is not None) is expected
    if db:
        return  # writing to another database number of the test Redis is not this test's to do
    written = write_model_to_redis(cliente)
    assert written is expected
    if expected:
        assert redis_client.get(redis_model_key(cliente)) == b"gpt-4.1-mini-2025-04-14"


def test_an_import_by_hand_takes_the_url_given_then_the_cliente_s_then_redis_url(default_redis):
    default_redis(True)
    cliente = _cliente(False, 2, "loja:", "")
    assert resolve_source(cliente).url == REDIS_TEST_URL
    given = resolve_source(cliente, redis_url="redis://outro:6379/0")
    assert (given.url, given.db, given.prefix) == ("redis://outro:6379/0", 2, "loja:")
    default_redis(False)
    assert resolve_source(_cliente(False, 0, "", "")) is None


def test_the_source_never_shows_its_password():
    assert mask_url("redis://:segredo@host:6379/2") == "redis://:***@host:6379/2"
    source = resolve_source(Cliente(slug="x", redis_url="redis://ana:segredo@host:6379/0",
                                    redis_db=0, redis_prefix=""))
    assert "segredo" not in source.origem and "ana:***@host" in source.origem
