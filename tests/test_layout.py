"""The layout stays findable: small modules, one file name per module, one way in to
each provider, loggers named after their package, and the rules that have one home.

Tests may import a concrete provider only in that provider's own test file,
tests/test_<name>_provider.py; everything else (pages, CLI, poller, other tests, bench)
asks core.finetune.registry.
"""
from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"
MAX_LINES = 500
PROVIDERS = "core.finetune.providers"


def _python_files(base: Path) -> list[Path]:
    skip = {".venv", ".git", "__pycache__", "data", "node_modules"}
    return sorted(p for p in base.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _imports(path: Path) -> set[str]:
    """Every module a file imports (`from a.b import c` counts as a.b and a.b.c)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


CORE_FILES = _python_files(CORE)


def test_no_core_module_is_over_500_lines():
    sizes = {_rel(p): len(p.read_text(encoding="utf-8").splitlines()) for p in CORE_FILES}
    assert {f: n for f, n in sizes.items() if n > MAX_LINES} == {}


def test_no_two_core_modules_share_a_file_name():
    names = Counter(p.name for p in CORE_FILES if p.name != "__init__.py")
    assert [name for name, n in names.items() if n > 1] == []


def _may_import_providers(path: Path) -> bool:
    rel = _rel(path)
    return rel.startswith("core/finetune/") or re.fullmatch(r"tests/test_\w+_provider\.py", rel)


def test_only_core_finetune_imports_a_concrete_provider():
    offenders = [_rel(p) for p in _python_files(ROOT) if not _may_import_providers(p)
                 and any(m.startswith(PROVIDERS) for m in _imports(p))]
    assert offenders == [], "ask core.finetune.registry.get_provider instead"


def test_the_provider_test_files_import_only_their_own_provider():
    for path in (ROOT / "tests").glob("test_*_provider.py"):
        name = path.stem[len("test_"):-len("_provider")]
        assert {m.split(".")[3] for m in _imports(path) if m.startswith(PROVIDERS + ".")} <= {name}


def test_core_never_imports_streamlit():
    assert [_rel(p) for p in CORE_FILES
            if any(m.split(".")[0] == "streamlit" for m in _imports(p))] == []


def test_only_core_db_re_exports_names_from_its_package():
    for init in CORE.rglob("__init__.py"):
        if init.parent.name == "db" or "__pycache__" in init.parts:
            continue
        assert not _imports(init), f"{_rel(init)} imports something: keep package inits empty"


def test_every_logger_is_named_after_its_package():
    wrong = []
    for path in [*CORE_FILES, ROOT / "poller.py"]:
        rel = _rel(path)
        package = "poller" if rel == "poller.py" else rel.split("/")[1].removesuffix(".py")
        for name in re.findall(r"getLogger\(([^)]*)\)", path.read_text(encoding="utf-8")):
            if name not in ("", '"alembic"', f'"curadoria.{package}"'):
                wrong.append(f"{rel}: getLogger({name})")
    assert wrong == []


def test_the_bot_s_model_key_is_written_by_one_function():
    key = "curadoria:modelo_ativo"
    holders = [_rel(p) for p in CORE_FILES if key in p.read_text(encoding="utf-8")
               and "migrations" not in p.parts]
    assert holders == ["core/finetune/deploy.py"]
    tree = ast.parse((CORE / "finetune" / "deploy.py").read_text(encoding="utf-8"))
    writers = {fn.name for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef)
               for call in ast.walk(fn) if isinstance(call, ast.Call)
               and isinstance(call.func, ast.Attribute) and call.func.attr in ("set", "mset")}
    assert writers == {"write_model_to_redis"}


def test_the_foundation_imports_nothing_above_it():
    foundation = {"core.config", "core.errors", "core.clock", "core.logs"}
    for name in foundation:
        path = ROOT / (name.replace(".", "/") + ".py")
        above = {m for m in _imports(path) if m.startswith("core.")
                 and not any(m == f or m.startswith(f + ".") for f in foundation)}
        assert above == set(), f"{name} imports {above}"
