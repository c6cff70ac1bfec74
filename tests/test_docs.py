"""Documentation stays true: every setting and command is in the README."""
from __future__ import annotations

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
