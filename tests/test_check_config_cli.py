"""`python -m gateway check-config`: problem lines on stdout, exit 1 when anything is wrong."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "config.toml"


def check_config(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("INTAKE_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), clean.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def problem_lines(output: str, file_name: str) -> list[str]:
    # "<file>: <dotted.key>: <what>"; a summary such as "config.toml: ok" is not a problem.
    shape = re.compile(rf"{re.escape(file_name)}: \S+: .")
    return [line for line in output.splitlines() if shape.match(line)]


def broken_file(tmp_path: Path) -> Path:
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace('http = "127.0.0.1:8080"', 'http = "nowhere"', 1)
    text = text.replace("capacity = { total = 5,", "capcity = { total = 5,", 1)
    text = text.replace('default_service = "support"', 'default_service = "sales"', 1)
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    return path


EXPECTED = [
    "broken.toml: gateway.http: expected \"HOST:PORT\", got 'nowhere'",
    "broken.toml: operators[1].capacity: missing",
    "broken.toml: operators[1].capcity: unknown key",
    "broken.toml: routing.default_service: unknown service 'sales'",
]


def test_sample_config_is_valid() -> None:
    result = check_config("--config", str(SAMPLE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert problem_lines(result.stdout, "config.toml") == []


def test_default_lookup_is_config_toml_in_the_working_directory() -> None:
    result = check_config()
    assert result.returncode == 0, result.stdout + result.stderr


def test_broken_config_prints_every_problem_and_exits_1(tmp_path: Path) -> None:
    result = check_config("--config", str(broken_file(tmp_path)))
    assert result.returncode == 1, result.stdout + result.stderr
    assert problem_lines(result.stdout, "broken.toml") == EXPECTED


def test_config_path_from_intake_config(tmp_path: Path) -> None:
    result = check_config(env={"INTAKE_CONFIG": str(broken_file(tmp_path))})
    assert result.returncode == 1, result.stdout + result.stderr
    assert problem_lines(result.stdout, "broken.toml") == EXPECTED


def test_missing_file_exits_1(tmp_path: Path) -> None:
    result = check_config("--config", str(tmp_path / "absent.toml"))
    assert result.returncode == 1
    (line,) = problem_lines(result.stdout, "absent.toml")
    assert line.startswith("absent.toml: <file>: ")
    assert "Traceback" not in result.stderr
