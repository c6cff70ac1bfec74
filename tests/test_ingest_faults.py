"""The import under hostile input and faults: huge values, keys of the wrong type, the
import killed (kill -9), its reader killed, the database dying or vanishing mid-import."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
import uuid
from urllib.parse import urlsplit

import pytest
import redis as redis_lib
from sqlalchemy import create_engine, select, text

from core.clientes.directory import ensure_cliente
from core.db import session_scope
from core.ingest.parse import max_value_bytes
from core.ingest.pipeline import ingest_cliente, list_rejected_entries
from core.ingest.source import fetch_values
from core.ingest.runs import INTERRUPTED
from core.db.tables import Importacao
from tests.conftest import PG_ADMIN_URL, REDIS_TEST_URL
from tests.test_ingest import NUMERO, ROOT, _load_demo, bot, cliente, conversas, mensagens, now_ms  # noqa: F401

# --- values checked inside Redis before they are fetched ------------------------------------


def test_values_longer_than_the_limit_are_rejected_with_an_excerpt_and_the_rest_imported(
        engine, cliente, bot, settings, monkeypatch):
    monkeypatch.setattr(settings, "ingest_max_caracteres", 100)  # values over 4,496 bytes
    ts = now_ms() - 3_600_000
    big = {bot.store(NUMERO, "user", f"grande {i} " + "x" * 6_000, ts + i) for i in range(200)}
    bot.store(NUMERO, "assistant", "curta", ts + 1_000)
    bot.store(NUMERO, "user", "é" * 101, ts + 2_000)  # 202 bytes, but 101 characters: too long
    summary = ingest_cliente(engine, cliente)
    assert summary.rejeitadas == {"conteudo_grande": 201}
    assert [m.conteudo for m in mensagens(engine)] == ["curta"]
    with session_scope(engine) as session:
        entries = {e.redis_key: e for e in list_rejected_entries(session, cliente, limit=500)}
    assert big < set(entries)
    sample = entries[f"conversation:{NUMERO}:{ts + 7}"]
    assert sample.trecho.startswith('{"role": "user", "content": "grande 7 xxx') and len(sample.trecho) == 300
    assert sample.descricao == "conteúdo grande demais"


def test_a_50_mb_value_is_rejected_without_ever_being_held_in_memory(engine, cliente, bot):
    ts = now_ms() - 3_600_000
    huge = b'{"role": "user", "content": "' + b"a" * 50_000_000 + b'", "timestamp": %d}' % ts
    key = bot.store_raw(NUMERO, ts, huge)
    del huge
    bot.store(NUMERO, "assistant", "Olá!", ts + 1_000)
    tracemalloc.start()
    try:
        summary = ingest_cliente(engine, cliente)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.rejeitadas == {"conteudo_grande": 1} and summary.mensagens_novas == 1
    assert peak < 5_000_000, f"peak of {peak:,} bytes: the value was fetched"
    with session_scope(engine) as session:
        [entry] = list_rejected_entries(session, cliente)
    assert entry.redis_key == key and entry.trecho == '{"role": "user", "content": "' + "a" * 271


def _fill_wrong_types(client, prefix: str, keys: list[str]) -> None:
    hash_key, set_key, list_key, zset_key, stream_key = (prefix + k for k in keys)
    client.hset(hash_key, mapping={"role": "user", "content": "oi"})
    client.sadd(set_key, "oi")
    client.rpush(list_key, "oi")
    client.zadd(zset_key, {"oi": 1})
    client.xadd(stream_key, {"content": "oi"})
    for key in (hash_key, set_key, list_key, zset_key, stream_key):
        client.expire(key, 3600)


def test_listed_keys_holding_a_hash_set_list_zset_or_stream_are_rejected_not_counted_as_expired(
        engine, cliente, bot, redis_client, redis_prefix):
    ts = now_ms() - 3_600_000
    keys = [f"conversation:{NUMERO}:{ts + i}" for i in range(5)]
    _fill_wrong_types(redis_client, redis_prefix, keys)
    for key in keys:
        bot.push(NUMERO, key)
    bot.push(NUMERO, f"conversation:{NUMERO}:{ts + 10}")  # never written: expired
    bot.store(NUMERO, "user", "oi", ts + 20)
    summary = ingest_cliente(engine, cliente)
    assert summary.rejeitadas == {"tipo_redis_invalido": 5}
    assert (summary.expiradas, summary.mensagens_novas) == (1, 1)
    with session_scope(engine) as session:
        entries = {e.redis_key: e for e in list_rejected_entries(session, cliente)}
    assert [entries[k].trecho for k in keys] == [f"(valor do tipo {t} no Redis)"
                                                  for t in ("hash", "set", "list", "zset", "stream")]
    assert entries[keys[0]].descricao.startswith("tipo inválido no Redis")


def test_where_scripts_are_not_allowed_the_values_are_checked_the_same_way(redis_client, redis_prefix):
    ts = now_ms()
    names = [f"conversation:{NUMERO}:{ts + i}" for i in range(9)]
    _fill_wrong_types(redis_client, redis_prefix, names[:5])
    redis_client.set(redis_prefix + names[5], b"x" * 5_000, ex=600)
    redis_client.set(redis_prefix + names[6], b'{"role": "user"}', ex=600)
    redis_client.set(redis_prefix + names[7], b"", ex=600)  # names[8]: missing
    keys = [(redis_prefix + name).encode() for name in names]
    user = f"curadoria-test-{uuid.uuid4().hex[:8]}"
    redis_client.acl_setuser(user, enabled=True, nopass=True, keys=["*"],
                             categories=["+@all", "-@scripting"])
    limited = redis_lib.Redis.from_url(REDIS_TEST_URL, username=user, password="x")
    try:
        with pytest.raises(redis_lib.exceptions.NoPermissionError):
            limited.evalsha("0" * 40, 0)
        expected = [[b"hash", 0, b""], [b"set", 0, b""], [b"list", 0, b""], [b"zset", 0, b""],
                    [b"stream", 0, b""], [b"string", 5_000, b"x" * 1_200], b'{"role": "user"}', b"", None]
        assert fetch_values(redis_client, keys, 4_096) == expected
        assert fetch_values(limited, keys, 4_096) == expected
    finally:
        limited.close()
        redis_client.acl_deluser(user)


def test_the_byte_limit_leaves_room_for_any_content_within_the_character_limit():
    content = "😀" * 20_000  # 4 bytes each in UTF-8
    payload = json.dumps({"role": "user", "content": content, "timestamp": now_ms(),
                          "phoneNumber": NUMERO, "model": "m" * 200}, ensure_ascii=False).encode()
    assert len(payload) <= max_value_bytes(20_000)


# --- processes that die ------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _descendants(pid: int) -> list[int]:
    result, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            result.append(child)
            todo.append(child)
    return result


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _running(pid: int) -> bool:
    """Alive and not a zombie (a zombie holds neither memory nor connections)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _hold_writer(engine, slug: str):
    """A connection holding the per-cliente lock: the import's writer waits at its first chunk."""
    with session_scope(engine) as session:
        cliente_id = ensure_cliente(session, slug).id
    conn = engine.connect()
    conn.execute(text("SELECT pg_advisory_xact_lock(7303, :id)"), {"id": cliente_id})
    return conn


def _cli_env(settings, **extra) -> dict:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "CURADORIA_INGEST_LOTE": "100", **extra}
    env.pop("REDIS_URL", None)
    return env


def _named_url(settings, name: str) -> str:
    """The test database, with connections PostgreSQL lists under application_name `name`."""
    if not settings.database_url.startswith("postgresql"):
        return settings.database_url
    return f"{settings.database_url}?application_name={name}"


def _wait_backends_gone(engine, name: str) -> None:
    """PostgreSQL drops a dead client's session (and its locks) a moment after it dies."""
    if engine.dialect.name != "postgresql":
        return
    def gone():
        with engine.connect() as conn:
            return not conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"),
                                   {"n": name})
    _wait_for(gone, 30, f"the sessions of {name} to end")


def _large_import(settings, *, pdeathsig: bool = True, database_url: str | None = None,
                  **popen) -> subprocess.Popen:
    """`python -m core ingest --cliente loja` with a reader process whatever the size."""
    code = ("import sys, core.ingest.pipeline as i, core.ingest.source as s; i.PROCESS_THRESHOLD = 1; "
            f"s.USE_PDEATHSIG = {pdeathsig}; from core.__main__ import main; "
            "sys.exit(main(['ingest', '--cliente', 'loja']))")
    env = _cli_env(settings, **({"DATABASE_URL": database_url} if database_url else {}))
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, **popen)


def _has_redis_connection(pid: int) -> bool:
    """Whether the process has a TCP connection open to the test Redis's port."""
    port = urlsplit(REDIS_TEST_URL).port or 6379
    try:
        inodes = {os.readlink(f"/proc/{pid}/fd/{fd}")[len("socket:["):-1]
                  for fd in os.listdir(f"/proc/{pid}/fd")
                  if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")}
        for table in ("tcp", "tcp6"):
            with open(f"/proc/{pid}/net/{table}") as handle:
                for line in handle.readlines()[1:]:
                    fields = line.split()
                    if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                        return True
    except OSError:
        pass
    return False


def _reader_of(pid: int) -> int:
    """The import's reader process, once it runs our code: it has connected to Redis.

    (Killed earlier, while Python starts and imports, a reader ends as soon as it gets
    to run: it finds its parent gone. That window is not what is tested here.)
    """
    def running_reader():
        for child in _children(pid):
            if "spawn_main" in _cmdline(child) and _has_redis_connection(child):
                return child
        return None
    return _wait_for(running_reader, 60, "the reader process to connect to Redis")


@pytest.mark.parametrize("pdeathsig", [True, False], ids=["prctl", "portable-checks"])
def test_a_kill_9_of_a_large_import_leaves_no_process_behind_and_the_next_run_closes_it(
        engine, cliente, bot, redis_client, redis_prefix, settings, backend, pdeathsig):
    if backend != "postgresql":
        pytest.skip("the writer is held with PostgreSQL's per-cliente advisory lock")
    _load_demo(redis_client, redis_prefix, bot, conversas=120)  # ~900 entries: 9 batches
    name = f"ingest-{uuid.uuid4().hex[:8]}"
    held = _hold_writer(engine, cliente)
    try:
        proc = _large_import(settings, pdeathsig=pdeathsig, database_url=_named_url(settings, name))
        reader = _reader_of(proc.pid)
        time.sleep(0.5)  # let it read and fill the pipe
        family = _descendants(proc.pid)
        assert reader in family and _running(reader)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        _wait_for(lambda: not any(_running(pid) for pid in family), 5,
                  f"the processes {family} ({[_cmdline(p)[:80] for p in family if _running(p)]}) to end")
    finally:
        held.rollback()
        held.close()
    with session_scope(engine) as session:
        [killed] = session.scalars(select(Importacao)).all()
    assert killed.concluida_em is None
    _wait_backends_gone(engine, name)
    summary = ingest_cliente(engine, cliente)
    assert summary.erro is None and summary.mensagens_novas > 700
    with session_scope(engine) as session:
        killed = session.get(Importacao, killed.id)
    assert killed.concluida_em is not None and killed.erro == INTERRUPTED


def test_an_import_whose_reader_is_killed_ends_with_an_error_instead_of_waiting_for_ever(
        engine, cliente, bot, redis_client, redis_prefix, settings, backend):
    if backend != "postgresql":
        pytest.skip("the writer is held with PostgreSQL's per-cliente advisory lock")
    _load_demo(redis_client, redis_prefix, bot, conversas=120)
    held = _hold_writer(engine, cliente)
    try:
        proc = _large_import(settings, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        reader = _reader_of(proc.pid)
        time.sleep(0.5)
        os.kill(reader, signal.SIGKILL)
    finally:
        held.rollback()
        held.close()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "Traceback" not in err
    assert "o processo que lia o Redis terminou inesperadamente (código de saída -9)" in out
    with session_scope(engine) as session:
        [run] = session.scalars(select(Importacao)).all()
    assert run.concluida_em is not None and "terminou inesperadamente" in run.erro


def _kill_self_in_walk(settings, mode: str, name: str) -> subprocess.Popen:
    """An import that dies (mode 'die') or waits for stdin (mode 'wait') once its run is open."""
    action = "os.kill(os.getpid(), 9)" if mode == "die" else "(print('aberta', flush=True), sys.stdin.readline())"
    code = ("import os, sys, core.ingest.pipeline as i; from core.db import get_engine; "
            f"i._walk = lambda run: {action}; "
            "print(i.ingest_cliente(get_engine(), 'loja').erro, flush=True)")
    env = _cli_env(settings, DATABASE_URL=_named_url(settings, name))
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _runs(engine) -> list[Importacao]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Importacao).order_by(Importacao.id)))


def test_a_run_left_open_by_a_dead_process_is_closed_as_interrupted_by_the_next_run(
        engine, cliente, bot, settings):
    bot.store(NUMERO, "user", "oi", now_ms() - 3_600_000)
    name = f"ingest-{uuid.uuid4().hex[:8]}"
    dead = _kill_self_in_walk(settings, "die", name)
    dead.communicate(timeout=60)
    assert dead.returncode == -signal.SIGKILL
    _wait_backends_gone(engine, name)
    [left_open] = _runs(engine)
    assert left_open.concluida_em is None
    summary = ingest_cliente(engine, cliente)
    assert summary.erro is None and summary.mensagens_novas == 1
    closed, new = _runs(engine)
    assert closed.id == left_open.id and closed.erro == INTERRUPTED and closed.concluida_em is not None
    assert new.erro is None and new.concluida_em is not None


def test_a_run_still_in_progress_in_another_process_is_left_alone(engine, cliente, bot, settings):
    bot.store(NUMERO, "user", "oi", now_ms() - 3_600_000)
    alive = _kill_self_in_walk(settings, "wait", f"ingest-{uuid.uuid4().hex[:8]}")
    try:
        assert alive.stdout.readline().strip() == "aberta"
        ingest_cliente(engine, cliente)
        other, mine = _runs(engine)
        assert other.concluida_em is None and other.erro is None
        assert mine.concluida_em is not None
    finally:
        out, _ = alive.communicate("\n", timeout=60)
    assert alive.returncode == 0 and out.strip() == "None"
    other, _ = _runs(engine)
    assert other.concluida_em is not None and other.erro is None


def test_an_import_stopped_with_ctrl_c_is_closed_as_interrupted_not_as_done(engine, cliente, bot,
                                                                            monkeypatch):
    import core.ingest.pipeline

    def interrupted(run):
        raise KeyboardInterrupt

    bot.store(NUMERO, "user", "oi", now_ms() - 3_600_000)
    monkeypatch.setattr(core.ingest.pipeline, "_walk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingest_cliente(engine, cliente)
    [run] = _runs(engine)
    assert run.concluida_em is not None and run.erro == INTERRUPTED


# --- the database failing mid-import ------------------------------------------------------

def _waiting_backend(admin, name: str) -> int:
    """The import's backend once it waits at the per-cliente lock, inside a query."""
    def find():
        with admin.connect() as conn:
            return conn.scalar(text("SELECT pid FROM pg_stat_activity WHERE application_name = :n "
                                    "AND wait_event_type = 'Lock'"), {"n": name})
    return _wait_for(find, 60, "the import to wait at the lock")


@pytest.fixture
def pg_admin():
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


def test_a_database_connection_killed_mid_import_is_one_line_an_exit_code_and_a_closed_run(
        engine, cliente, bot, redis_client, redis_prefix, settings, backend, pg_admin):
    if backend != "postgresql":
        pytest.skip("pg_terminate_backend")
    _load_demo(redis_client, redis_prefix, bot, conversas=40)
    name = f"ingest-{uuid.uuid4().hex[:8]}"
    held = _hold_writer(engine, cliente)
    try:
        proc = _large_import(settings, database_url=_named_url(settings, name),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        backend_pid = _waiting_backend(pg_admin, name)
        with pg_admin.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": backend_pid})
    finally:
        held.rollback()
        held.close()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err == ""
    [line] = out.strip().splitlines()
    assert line.startswith("Importação de 'loja': ")
    assert line.endswith("A importação parou com erro: falha no banco de dados "
                         "(AdminShutdown: terminating connection due to administrator command).")
    [run] = _runs(engine)
    assert run.concluida_em is not None
    assert run.erro == "falha no banco de dados (AdminShutdown: terminating connection due to " \
                       "administrator command)."


def test_a_database_gone_mid_import_is_one_line_and_the_next_run_closes_the_open_run(
        engine, cliente, bot, redis_client, redis_prefix, settings, backend, pg_admin):
    if backend != "postgresql":
        pytest.skip("a PostgreSQL database that stops accepting connections")
    _load_demo(redis_client, redis_prefix, bot, conversas=40)
    database = engine.url.database
    name = f"ingest-{uuid.uuid4().hex[:8]}"
    held = _hold_writer(engine, cliente)
    try:
        proc = _large_import(settings, database_url=_named_url(settings, name),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _waiting_backend(pg_admin, name)
        with pg_admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
            try:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE application_name = :n"), {"n": name})
                out, err = proc.communicate(timeout=60)
            finally:
                conn.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
    finally:
        held.rollback()
        held.close()
    assert proc.returncode == 1 and err == ""
    [line] = out.strip().splitlines()
    assert "A importação parou com erro: falha no banco de dados (AdminShutdown: " in line
    assert line.endswith("Não foi possível registrar o fim desta importação no banco; a próxima a "
                         "marca como interrompida.")
    [left_open] = _runs(engine)
    assert left_open.concluida_em is None
    _wait_backends_gone(engine, name)
    assert ingest_cliente(engine, cliente).erro is None
    closed, _new = _runs(engine)
    assert closed.erro == INTERRUPTED and closed.concluida_em is not None


def test_the_cli_says_in_one_line_when_the_database_cannot_be_reached(settings):
    env = _cli_env(settings, DATABASE_URL="postgresql://postgres@127.0.0.1:1/nada")
    result = subprocess.run([sys.executable, "-m", "core", "ingest", "--cliente", "loja",
                             "--redis-url", REDIS_TEST_URL], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Erro: Não foi possível acessar o banco de dados (OperationalError: ")
