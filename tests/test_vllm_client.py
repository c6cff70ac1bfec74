"""The vLLM client against a local fake vLLM server, through the real openai SDK."""
from __future__ import annotations

import pytest

from core import config as config_module
from core.finetune.vllm import (
    SMOKE_QUESTION,
    AdapterLoadRefused,
    SmokeTestFailed,
    VllmAuthError,
    VllmError,
    VllmNotConfigured,
    VllmUnavailable,
    adapter_name,
    get_vllm_client,
    same_base_model,
)
from tests.fake_vllm import DEFAULT_ANSWER, FakeVllm
from tests.fake_together import adapter_files

BASE = "Qwen/Qwen3.5-9B"


@pytest.fixture
def fake_vllm(monkeypatch):
    fake = FakeVllm().start()
    monkeypatch.setenv("CURADORIA_VLLM_URL", fake.base_url)
    monkeypatch.delenv("CURADORIA_VLLM_API_KEY", raising=False)
    monkeypatch.delenv("CURADORIA_VLLM_URL_BOT", raising=False)
    config_module.reset_settings()
    yield fake
    fake.stop()
    config_module.reset_settings()


@pytest.fixture
def vllm(fake_vllm):
    return get_vllm_client(timeout=10.0, max_retries=0)


@pytest.fixture
def impatient(fake_vllm):
    """A client that gives up after 1 s, for faults that answer late or never."""
    return get_vllm_client(timeout=1.0, max_retries=0)


def _adapter(tmp_path, name="curadoria-loja-job7", base=BASE, skip=()):
    folder = tmp_path / "adapters" / name
    folder.mkdir(parents=True)
    for file_name, data in adapter_files(base).items():
        if file_name not in skip:
            (folder / file_name).write_bytes(data)
    return folder


def test_vllm_lists_its_base_model_before_any_adapter(vllm):
    models = vllm.list_models()
    assert [(m.id, m.is_adapter) for m in models] == [(BASE, False)]
    assert vllm.served_base_models() == [BASE]


def test_a_loaded_adapter_is_listed_and_answers_as_its_own_model(fake_vllm, vllm, tmp_path):
    path = _adapter(tmp_path)
    vllm.load_adapter("curadoria-loja-job7", path)
    listed = {m.id: m for m in vllm.list_models()}
    assert listed["curadoria-loja-job7"].root == str(path)
    assert listed["curadoria-loja-job7"].parent == BASE
    assert vllm.smoke_test("curadoria-loja-job7") == DEFAULT_ANSWER
    request = fake_vllm.chat_requests[-1]
    assert request["model"] == "curadoria-loja-job7"
    assert request["messages"] == [{"role": "user", "content": SMOKE_QUESTION}]
    assert request["chat_template_kwargs"] == {"enable_thinking": False}


def test_the_smoke_test_can_carry_the_cliente_system_prompt(fake_vllm, vllm, tmp_path):
    vllm.load_adapter("a", _adapter(tmp_path))
    fake_vllm.answers["a"] = "Entregamos em todo o bairro."
    answer = vllm.smoke_test("a", pergunta="Entregam?", system_prompt="Você é a Loja.")
    assert answer == "Entregamos em todo o bairro."
    assert fake_vllm.chat_requests[-1]["messages"][0] == {"role": "system",
                                                          "content": "Você é a Loja."}


def test_loading_an_adapter_again_after_a_crash_counts_as_loaded(fake_vllm, tmp_path):
    path = _adapter(tmp_path)
    get_vllm_client(max_retries=0).load_adapter("curadoria-loja-job7", path)
    get_vllm_client(max_retries=0).load_adapter("curadoria-loja-job7", path)  # a new process
    assert fake_vllm.route_calls("load") == 2
    assert list(fake_vllm.adapters) == ["curadoria-loja-job7"]


def test_a_load_whose_answer_was_dropped_is_retried_by_the_sdk_and_loads_once(
        fake_vllm, tmp_path):
    fake_vllm.fail("load", "drop")
    get_vllm_client(max_retries=1).load_adapter("a", _adapter(tmp_path))
    assert fake_vllm.route_calls("load") == 2 and list(fake_vllm.adapters) == ["a"]


def test_the_same_name_loaded_from_another_path_is_refused(fake_vllm, vllm, tmp_path):
    vllm.load_adapter("a", _adapter(tmp_path, "one"))
    with pytest.raises(AdapterLoadRefused, match="carregado de outro caminho"):
        vllm.load_adapter("a", _adapter(tmp_path, "two"))


@pytest.mark.parametrize("setup, text", [
    (lambda t: t / "adapters" / "nowhere", "No adapter found"),
    (lambda t: _adapter(t, skip=("adapter_model.safetensors",)), "doesn't contain tensors"),
    (lambda t: _adapter(t, base="meta-llama/Llama-2-7b-hf"), "shapes do not match"),
])
def test_vllm_refusing_an_adapter_is_a_clear_non_transient_error(vllm, tmp_path, setup,
                                                                 text):
    with pytest.raises(AdapterLoadRefused) as info:
        vllm.load_adapter("curadoria-loja-job7", setup(tmp_path))
    message = str(info.value)
    assert message.startswith("O vLLM da equipe recusou o pedido de carregar o adaptador "
                              "curadoria-loja-job7")
    assert text in message and not info.value.transient


@pytest.mark.parametrize("kind, error, text, transient", [
    ("load_refused", AdapterLoadRefused, "CUDA out of memory", False),
    ("server_error", AdapterLoadRefused, "erro 500", False),
    ("unavailable", VllmUnavailable, "sobrecarregado ou indisponível (erro 503)", True),
    ("slow", VllmUnavailable, "não respondeu a tempo", True),
    ("drop", VllmUnavailable, "Não foi possível conectar ao vLLM", True),
])
def test_injected_load_faults_become_portuguese_errors(fake_vllm, impatient, tmp_path, kind,
                                                       error, text, transient):
    fake_vllm.fail("load", kind, delay=3.0)
    with pytest.raises(error) as info:
        impatient.load_adapter("a", _adapter(tmp_path))
    assert text in str(info.value) and info.value.transient is transient


def test_vllm_without_runtime_lora_says_how_to_start_it(fake_vllm, vllm, tmp_path):
    fake_vllm.runtime_lora = False
    with pytest.raises(AdapterLoadRefused, match="VLLM_ALLOW_RUNTIME_LORA_UPDATING=True"):
        vllm.load_adapter("a", _adapter(tmp_path))
    with pytest.raises(VllmError, match="--enable-lora"):
        vllm.unload_adapter("a")


def test_unload_removes_the_adapter_and_unloading_twice_is_fine(fake_vllm, vllm, tmp_path):
    vllm.load_adapter("a", _adapter(tmp_path))
    vllm.unload_adapter("a")
    vllm.unload_adapter("a")
    assert fake_vllm.adapters == {} and fake_vllm.route_calls("unload") == 2
    with pytest.raises(SmokeTestFailed, match="o adaptador não está carregado"):
        vllm.smoke_test("a")


@pytest.mark.parametrize("answer", ["", "   \n", "<think>hmm, vejamos</think>\n"])
def test_an_empty_answer_fails_the_smoke_test(fake_vllm, vllm, tmp_path, answer):
    vllm.load_adapter("a", _adapter(tmp_path))
    fake_vllm.answers["a"] = answer
    with pytest.raises(SmokeTestFailed, match="respondeu vazio") as info:
        vllm.smoke_test("a")
    assert not info.value.transient


def test_a_thinking_block_is_not_part_of_the_answer(fake_vllm, vllm, tmp_path):
    vllm.load_adapter("a", _adapter(tmp_path))
    fake_vllm.answers["a"] = "<think>o cliente quer saber</think>Sim, entregamos!"
    assert vllm.smoke_test("a") == "Sim, entregamos!"


@pytest.mark.parametrize("kind, error, text", [
    ("server_error", SmokeTestFailed, "recusou o pedido de testar o adaptador a (erro 500)"),
    ("unavailable", VllmUnavailable, "erro 503"),
    ("slow", VllmUnavailable, "não respondeu a tempo ao testar o adaptador a"),
])
def test_a_smoke_test_error_is_a_portuguese_error(fake_vllm, vllm, impatient, tmp_path, kind,
                                                  error, text):
    vllm.load_adapter("a", _adapter(tmp_path))
    fake_vllm.fail("chat", kind, delay=3.0)
    with pytest.raises(error) as info:
        impatient.smoke_test("a")
    assert text in str(info.value)


def test_vllm_down_is_transient_whether_it_hangs_up_or_is_gone(fake_vllm, vllm, tmp_path):
    fake_vllm.down = True
    with pytest.raises(VllmUnavailable, match="ele está no ar") as info:
        vllm.list_models()
    assert info.value.transient
    fake_vllm.stop()
    with pytest.raises(VllmUnavailable, match="Confira CURADORIA_VLLM_URL"):
        vllm.load_adapter("a", _adapter(tmp_path))


def test_an_api_key_is_sent_as_bearer_and_a_wrong_one_is_named(fake_vllm, monkeypatch,
                                                               tmp_path):
    fake_vllm.api_key = "segredo-do-vllm"
    with pytest.raises(VllmAuthError, match="Confira CURADORIA_VLLM_API_KEY"):
        get_vllm_client(max_retries=0).list_models()
    monkeypatch.setenv("CURADORIA_VLLM_API_KEY", "segredo-do-vllm")
    config_module.reset_settings()
    get_vllm_client(max_retries=0).load_adapter("a", _adapter(tmp_path))
    assert list(fake_vllm.adapters) == ["a"]


def test_an_unset_vllm_url_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("CURADORIA_VLLM_URL", raising=False)
    config_module.reset_settings()
    try:
        with pytest.raises(VllmNotConfigured, match="defina CURADORIA_VLLM_URL"):
            get_vllm_client()
    finally:
        config_module.reset_settings()


def test_the_bot_url_defaults_to_the_vllm_url_and_can_differ(monkeypatch):
    monkeypatch.setenv("CURADORIA_VLLM_URL", "http://vllm:8000/v1")
    monkeypatch.delenv("CURADORIA_VLLM_URL_BOT", raising=False)
    assert config_module.Settings().vllm_url_bot == "http://vllm:8000/v1"
    monkeypatch.setenv("CURADORIA_VLLM_URL_BOT", "http://10.0.0.5:8000/v1")
    assert config_module.Settings().vllm_url_bot == "http://10.0.0.5:8000/v1"


def test_check_base_model_refuses_an_adapter_for_another_base(vllm):
    vllm.check_base_model("Qwen/Qwen3.5-9B")
    with pytest.raises(AdapterLoadRefused, match="treinado sobre Qwen/Qwen3-8B"):
        vllm.check_base_model("Qwen/Qwen3-8B")


def test_adapter_names_are_unique_per_job_and_safe():
    assert adapter_name("padaria-sao-joao", 42) == "curadoria-padaria-sao-joao-job42"
    assert adapter_name("Padaria São João!", 42) == "curadoria-padaria-sao-joao-job42"
    assert adapter_name("loja", 1) != adapter_name("loja", 2)
    assert adapter_name("", 3) == "curadoria-cliente-job3"


@pytest.mark.parametrize("a, b, same", [
    ("Qwen/Qwen3.5-9B", "Qwen/Qwen3.5-9B", True),
    ("Qwen/Qwen3.5-9B", "/models/Qwen3.5-9B/", True),
    ("meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", "meta-llama/Llama-3.1-8B-Instruct",
     True),
    ("Qwen/Qwen3.5-9B", "Qwen/Qwen3-8B", False),
    ("Qwen/Qwen3.5-9B", None, False),
])
def test_base_models_are_compared_across_hub_together_and_local_names(a, b, same):
    assert same_base_model(a, b) is same
