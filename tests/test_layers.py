"""Imports run one way (worker -> gateway -> routing -> channels) and routing, the settings and
the errors know no HTTP: import-linter's contracts in pyproject.toml, checked on the tree and on
copies with one wrong import each, which must fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("worker", "gateway", "routing", "channels")
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first: the packages analysed are the ones under `root`, not the installed ones.
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [LINT_IMPORTS, "--no-logo", "--no-cache"]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=60)


def test_the_tree_keeps_the_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def copy_with_import(tmp_path: Path, file: str, line: str) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    path = tmp_path / file
    path.write_text(path.read_text() + f"\n{line}  # noqa: E402\n")
    return tmp_path


def test_a_wrong_way_import_breaks_the_layers(tmp_path: Path) -> None:
    tree = copy_with_import(tmp_path, "channels/signature.py", "from gateway import config")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "channels is not allowed to import gateway" in result.stdout
    assert "channels.signature -> gateway.config" in result.stdout


def test_http_in_the_errors_breaks_the_transport_contract(tmp_path: Path) -> None:
    tree = copy_with_import(tmp_path, "channels/errors.py", "from aiohttp import web")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "channels.errors is not allowed to import aiohttp" in result.stdout
    assert "gateway.config is not allowed to import aiohttp" in result.stdout


def test_http_in_a_channel_breaks_the_delivery_contract(tmp_path: Path) -> None:
    tree = copy_with_import(tmp_path, "channels/webform/adapter.py", "from aiohttp import web")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "channels is not allowed to import aiohttp" in result.stdout
    assert "channels.webform.adapter -> aiohttp" in result.stdout
