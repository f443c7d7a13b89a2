"""Without Chromium the browser tests fail and say how to get it: they never skip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT, product_env


def test_a_missing_chromium_fails_the_browser_tests_loudly(tmp_path: Path) -> None:
    env = product_env(INTAKE_CHROMIUM=str(tmp_path / "no-chromium-here"))
    test = "tests/test_console_browser.py::test_the_first_load_is_small_and_stays_on_the_gateway"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", test],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 error" in run.stdout
    assert "apt-get install -y chromium" in run.stdout
    assert "skipped" not in run.stdout
