"""Documentation stays true: every setting and command is in the README."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.__main__ import build_parser
from core.config import describe_settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("env", [row["env"] for row in describe_settings()])
def test_every_setting_is_documented_in_the_readme(env):
    assert f"`{env}`" in README


def test_every_setting_has_a_help_text():
    assert all(row["help"] for row in describe_settings())


def test_every_cli_command_is_documented_in_the_readme():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"`{name}" in README, name


def test_cli_reports_bad_input_in_portuguese_without_a_traceback():
    result = subprocess.run([sys.executable, "-m", "core", "demo", "--ate", "ontem"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "Data inválida em --ate" in result.stderr and "Traceback" not in result.stderr


def _layout_dirs() -> set[str]:
    """The core/ directories the README's Layout block lists (first column)."""
    block = README.split("## Layout", 1)[1].split("```", 2)[1]
    return {line.split()[0].rstrip("/") for line in block.splitlines()
            if line.startswith("core/") and line.split()[0].endswith("/")}


def test_the_readme_layout_lists_exactly_the_core_packages():
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "core").rglob("__init__.py")
                if "__pycache__" not in p.parts}
    assert _layout_dirs() == packages


def test_the_architecture_page_names_every_core_package():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for package in _layout_dirs() - {"core"}:
        assert f"`{package}/`" in text, package


def _settings_table() -> list[list[str]]:
    """The rows of the README's settings table, each split into its cells (a `\\|` inside a
    cell is not a separator). The table is one block: it ends at the first non-row line."""
    section = README.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    start = lines.index("| variable | default | meaning |")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_the_settings_table_is_whole_and_documents_every_setting_exactly_once():
    rows = _settings_table()
    assert all(len(cells) == 3 and all(cells) for cells in rows), [r for r in rows if len(r) != 3]
    documented = [cells[0].strip("`") for cells in rows]
    envs = [row["env"] for row in describe_settings()]
    assert sorted(documented) == sorted(envs)  # each once, nothing else
    # ... and no setting row anywhere else in the README
    elsewhere = re.findall(r"^\| `((?:CURADORIA_|DATABASE_|REDIS_|OPENAI_|TOGETHER_)\w*)`", README, re.M)
    assert sorted(elsewhere) == sorted(envs)


def test_the_readme_documents_port_and_what_command_1_prints():
    assert "PORT=" in README and "Banco atualizado" in README and "analisadas em" in README


def test_the_readme_links_only_inside_the_repository():
    for target in re.findall(r"\]\(([^)\s]+)\)", README):
        assert not re.match(r"[a-z]+:|/|\.\./", target), target
        assert (ROOT / target.split("#")[0]).exists(), target


def test_requirements_are_split_runtime_and_dev():
    runtime = (ROOT / "requirements.txt").read_text(encoding="utf-8").split()
    dev = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    assert not any(p.startswith(("pytest", "playwright", "hypothesis")) for p in runtime)
    assert [line for line in dev if not line.startswith("#")][0] == "-r requirements.txt"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "requirements.txt" in dockerfile and "requirements-dev" not in dockerfile
