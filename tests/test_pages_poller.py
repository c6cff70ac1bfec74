"""Page tests (AppTest): the Clientes screen, the sidebar notifications and the live
progress component."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.auth import create_admin
from core.login_sessions import open_session
from core.db import session_scope
from core.db.tables import Cliente, ModeloHistorico
from core.finetune.deploy import set_active_model
from core.poller.notify import create_notification
from core.poller.cycle import record_heartbeat
from tests.pages_helpers import SENHA, logged_in_dashboard, shown
from tests.poll_helpers import make_cliente, make_job


def _apply(engine, cliente_id, modelo):
    with session_scope(engine) as session:
        set_active_model(session, session.get(Cliente, cliente_id), modelo, motivo="fine_tuning",
                         alterado_por="poller")


def _texts(at) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption]
    parts += [str(e.value) for e in at.code] + [e.value for e in at.text]
    return shown("\n".join(str(p) for p in parts))


def test_clientes_page_shows_the_model_and_rolls_back_to_the_previous_one(engine):
    cliente_id = make_cliente(engine, "padaria")
    _apply(engine, cliente_id, "ft:modelo-1")
    _apply(engine, cliente_id, "ft:modelo-2")
    record_heartbeat(engine, "poller-teste", intervalo=1800)
    at = logged_in_dashboard(engine, page="pages/screens/clientes.py")
    assert not at.exception
    text = _texts(at)
    assert "ft:modelo-2" in text and "Poller visto por último" in text
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 2
    assert at.button(key="btn_rollback_base").label == "Voltar ao modelo base"

    at.button(key="btn_rollback").click()
    at.run()
    assert not at.exception
    with session_scope(engine) as session:
        assert session.get(Cliente, cliente_id).modelo_ativo == "ft:modelo-1"
        motivos = [h.motivo for h in session.query(ModeloHistorico).order_by(ModeloHistorico.id)]
    assert motivos == ["fine_tuning", "fine_tuning", "rollback"]
    assert any("ft:modelo-1" in shown(s.value) for s in at.success)
    assert "ana" in [str(v) for v in at.dataframe[0].value["Por"]]


def test_one_rollback_button_when_the_previous_model_is_the_base_model(engine):
    cliente_id = make_cliente(engine, "padaria")
    _apply(engine, cliente_id, "ft:modelo-1")
    at = logged_in_dashboard(engine, page="pages/screens/clientes.py")
    assert not at.exception
    labels = [shown(b.label) for b in at.button]
    assert any(label.startswith("Voltar para") and "(modelo base)" in label for label in labels)
    assert "Voltar ao modelo base" not in labels  # the same action twice would confuse
    at.button(key="btn_rollback").click()
    at.run()
    with session_scope(engine) as session:
        assert session.get(Cliente, cliente_id).modelo_ativo is None


def test_clientes_page_warns_when_the_poller_never_ran(engine):
    make_cliente(engine, "padaria")
    at = logged_in_dashboard(engine, page="pages/screens/clientes.py")
    assert any("O poller ainda não rodou" in w.value for w in at.warning)
    assert at.button(key="btn_rollback").disabled


def test_the_sidebar_shows_the_unread_notifications(engine):
    cliente_id = make_cliente(engine, "padaria")
    with session_scope(engine) as session:
        create_notification(session, chave="fine_tuning:1:concluido", tipo="fine_tuning_concluido",
                            titulo="Fine-tuning de Padaria concluído",
                            mensagem="O modelo ft:x já está em uso.", cliente_id=cliente_id)
    at = logged_in_dashboard(engine)
    assert not at.exception
    assert any(e.label == "Notificações (1)" for e in at.sidebar.expander)
    assert any("Fine-tuning de Padaria concluído" in t.value for t in at.sidebar.text)
    at.sidebar.button(key="marcar_lidas").click()
    at.run()
    assert any(e.label == "Notificações" for e in at.sidebar.expander)

    # A notification that arrives while the admin is in the dashboard pops up as a toast.
    with session_scope(engine) as session:
        create_notification(session, chave="fine_tuning:2:failed", tipo="fine_tuning_failed",
                            titulo="Fine-tuning de Padaria falhou", cliente_id=cliente_id)
    at.run()
    assert [shown(t.value) for t in at.toast] == ["Fine-tuning de Padaria falhou"]
    assert any(e.label == "Notificações (1)" for e in at.sidebar.expander)


PROGRESS_APP = """
from pages.ui.progresso import render_job_progress

render_job_progress({job_id}, intervalo=60)
"""


def test_the_progress_component_shows_the_jobs_progress_and_estimate(engine):
    job_id = make_job(engine, make_cliente(engine, "padaria"), "ftjob-1", status="running")
    with session_scope(engine) as session:
        from core.db.tables import FineTuningJob
        job = session.get(FineTuningJob, job_id)
        job.progresso, job.status_provedor = 40, "running"
    at = AppTest.from_string(PROGRESS_APP.format(job_id=job_id), default_timeout=30)
    at.run()  # without a logged-in session, the component shows nothing
    assert not at.exception and not at.get("progress")
    with session_scope(engine) as session:
        admin = create_admin(session, "ana", SENHA)
        at.session_state["usuario"] = "ana"
        at.session_state["sessao_id"] = open_session(session, admin).sessao_id
    at.run()
    assert not at.exception
    assert "40%" in at.get("progress")[0].proto.text
    assert any("Previsão de conclusão" in c.value for c in at.caption)
