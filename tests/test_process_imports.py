"""`check-config` and the supervisor run without loading the aiohttp application."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(*argv: str) -> set[str]:
    """Module names `python -X importtime` reports for a real run of the command."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    names = set()
    for line in run.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def test_check_config_does_not_import_aiohttp() -> None:
    names = imported_modules("-m", "gateway", "check-config", "--config", "config.toml")
    assert "gateway.config" in names  # the run really loaded the config
    assert not {name for name in names if name.split(".")[0] == "aiohttp"}


def test_supervisor_modules_do_not_import_aiohttp() -> None:
    code = (
        "import sys; import gateway.process.server, gateway.process.cli; "
        "sys.exit(1 if any(m.split('.')[0] == 'aiohttp' for m in sys.modules) else 0)"
    )
    names = imported_modules("-c", code)
    assert "gateway.process.server" in names
    assert "gateway.process.supervisor" in names
