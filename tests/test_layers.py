"""Imports run one way (worker -> gateway -> routing -> channels), checked by import-linter with
the layers contract in pyproject.toml; a copy of the tree with one wrong-way import fails it."""

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
    assert "1 kept, 0 broken" in result.stdout


def test_a_wrong_way_import_breaks_the_contract(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    signature = tmp_path / "channels" / "signature.py"
    signature.write_text(signature.read_text() + "\nfrom gateway import config  # noqa: E402\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "channels is not allowed to import gateway" in result.stdout
    assert "channels.signature -> gateway.config" in result.stdout
