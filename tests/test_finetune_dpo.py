"""Fine-tuning as DPO: its own readiness minimum, the preference file uploaded, the method
sent to each provider (the real openai and together SDKs against the local fakes)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.db.tables import Conversa, FineTuningJob, Mensagem
from core.errors import InvalidInput
from core.finetune.registry import supported_methods
from core.finetune.start import NotReady, preview_fine_tuning, start_fine_tuning
from core.review.corrections import save_correction
from core.training.preference import export_preferences
from tests.finetune_helpers import make_cliente
from tests.test_together_flow import BASE, SLUG, fakes, together_cliente  # noqa: F401  (fixture)


def correct(engine, cliente_id: int, n: int) -> None:
    """Correct the first bot answer of the cliente's first `n` bad (or any) conversas."""
    with session_scope(engine) as session:
        conversas = session.scalars(select(Conversa.id).where(Conversa.cliente_id == cliente_id)
                                    .order_by(Conversa.avaliacao.desc(), Conversa.id)).all()[:n]
        for i, conversa_id in enumerate(conversas):
            bot = session.scalar(select(Mensagem.id).where(Mensagem.conversa_id == conversa_id,
                                                           Mensagem.role == "assistant")
                                 .order_by(Mensagem.enviada_em))
            save_correction(session, bot, f"Abrimos das 9h às 19h, de segunda a sábado ({i}).", "ana")


def _row(engine) -> FineTuningJob:
    with session_scope(engine) as session:
        [row] = session.scalars(select(FineTuningJob)).all()
        return row


def test_both_providers_offer_dpo():
    assert "dpo" in supported_methods("openai") and "dpo" in supported_methods("together")


def test_dpo_has_its_own_minimum_of_corrections(engine, fake_openai, monkeypatch):
    cliente_id = make_cliente(engine, boas=0, ruins=25, sem=0)  # not ready for SFT
    correct(engine, cliente_id, 19)
    with pytest.raises(NotReady, match=r"Faltam 1 respostas corrigidas .* \(19 de 20\)"):
        start_fine_tuning(engine, cliente_id, "ana", metodo="dpo")
    correct(engine, cliente_id, 20)
    with pytest.raises(NotReady, match="conversas boas"):
        start_fine_tuning(engine, cliente_id, "ana")  # SFT still needs its ratings
    with session_scope(engine) as session:
        preview = preview_fine_tuning(session, cliente_id, metodo="dpo")
    assert preview.metodo == "dpo" and preview.conversas_usadas == 20 and preview.tokens_faturados > 0
    with pytest.raises(InvalidInput, match="Método de treino desconhecido"):
        start_fine_tuning(engine, cliente_id, "ana", metodo="ppo")


def test_openai_dpo_job_trains_on_the_preference_file(engine, fake_openai, tmp_path):
    cliente_id = make_cliente(engine)
    correct(engine, cliente_id, 20)
    result = start_fine_tuning(engine, cliente_id, "ana", metodo="dpo")
    job = fake_openai.only_job()
    assert job["method"]["type"] == "dpo"
    row = _row(engine)
    assert row.id == result.job_id and row.metodo == "dpo" and row.conversas_usadas == 20
    assert row.arquivo_validacao_id is None and job["validation_file"] is None
    with session_scope(engine) as session:
        export_preferences(session, "loja-do-joao", tmp_path / "dpo.jsonl")
    assert fake_openai.file_bytes[job["training_file"]] == (tmp_path / "dpo.jsonl").read_bytes()
    first = json.loads((tmp_path / "dpo.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["preferred_output"][0]["content"].startswith("Abrimos das 9h às 19h")


def test_an_sft_job_is_still_supervised_and_says_so(engine, fake_openai):
    cliente_id = make_cliente(engine)
    start_fine_tuning(engine, cliente_id, "ana")
    assert fake_openai.only_job()["method"]["type"] == "supervised"
    assert _row(engine).metodo == "sft"


def test_together_dpo_job_and_its_price_ask_for_dpo(engine, fakes):  # noqa: F811
    together_fake, _ = fakes
    cliente_id = together_cliente(engine)
    correct(engine, cliente_id, 20)
    with session_scope(engine) as session:
        preview = preview_fine_tuning(session, cliente_id, metodo="dpo")
    assert together_fake.bodies["estimate"][-1]["training_method"] == {"method": "dpo"}
    assert preview.custo_usd is not None and preview.metodo == "dpo"
    start_fine_tuning(engine, cliente_id, "ana", metodo="dpo")
    body = together_fake.bodies["jobs.create"][-1]
    assert body["training_method"]["method"] == "dpo" and body["model"] == BASE
    assert "train_on_inputs" not in body["training_method"]
    [meta] = [f for f in together_fake.files.values() if f["id"] == body["training_file"]]
    assert meta["validation_report"]["dataset_format"] == "PREFERENCE_OPENAI"
    assert _row(engine).metodo == "dpo"


def test_cli_starts_a_dpo_job(engine, fake_openai, capsys):
    from core.__main__ import main

    cliente_id = make_cliente(engine)
    correct(engine, cliente_id, 20)
    assert main(["finetune", "start", "--cliente", "loja-do-joao", "--metodo", "dpo", "--yes",
                 "--usuario", "ana"]) == 0
    out = capsys.readouterr().out
    assert "Método: preferências (DPO), 20 respostas corrigidas" in out
    assert fake_openai.only_job()["method"]["type"] == "dpo"


def test_the_confirm_dialog_offers_dpo_and_starts_it(engine, fake_openai):
    from tests.pages_helpers import logged_in_dashboard, shown

    cliente_id = make_cliente(engine, boas=0, ruins=25, sem=0)  # ready for DPO only
    correct(engine, cliente_id, 20)
    at = logged_in_dashboard(engine, page="pages/screens/fine_tuning.py")
    botao = next(b for b in at.button if b.label == "Iniciar Fine-tuning")
    assert not botao.disabled  # DPO can start
    botao.click()
    at.run()
    assert any("conversas boas" in shown(e.value) for e in at.error)  # SFT is not ready
    at.radio(key="ft_metodo").set_value("dpo").run()
    assert not at.exception, at.exception
    texto = shown(" ".join(m.value for m in at.markdown))
    assert "Respostas corrigidas (pares de preferência): **20**" in texto
    assert fake_openai.jobs == {}
    next(b for b in at.button if b.label == "Sim, Iniciar").click()
    at.run()
    assert not at.exception, at.exception
    assert fake_openai.only_job()["method"]["type"] == "dpo"
    assert _row(engine).metodo == "dpo"


def test_historico_and_status_say_a_job_trained_by_dpo(engine, fake_openai, capsys):
    from core.__main__ import main
    from tests.pages_helpers import logged_in_dashboard

    cliente_id = make_cliente(engine)
    correct(engine, cliente_id, 20)
    result = start_fine_tuning(engine, cliente_id, "ana", metodo="dpo")
    assert main(["finetune", "status", str(result.job_id)]) == 0
    assert "Conversas usadas: 20 (respostas corrigidas, treino por preferências DPO)" in capsys.readouterr().out
    at = logged_in_dashboard(engine, page="pages/screens/historico.py")
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["Método"]) == ["DPO (correções)"]
