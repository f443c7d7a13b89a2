"""schemathesis against a live `serve` (its own embedded Valkey, real ports): every operation
of the operator, case and admin API, in all four phases (examples, coverage, fuzzing,
stateful through the document's links), positive and negative data. No 5xx, and every answer,
errors included, as the document says (status, content type, headers, body schema).

Left out: `positive_data_acceptance` (schema-valid values the gateway refuses by rules a schema
cannot say: an id of the config, a phone or an e-mail, NUL; each a 422 naming the field) and
the endless event stream.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Serve, product_env

RUN_SECONDS = 50  # about 25 s on a busy 2-core VM; `-n` bounds the examples per operation
MAX_EXAMPLES = "8"
OPERATIONS = r"^/(api/|metrics$|readyz$|healthz$)"
ADMIN = "Authorization: Bearer change-me-admin"


def schemathesis(base_url: str, reports: Path) -> subprocess.CompletedProcess[str]:
    argv = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/api/openapi.json",
        "-H", ADMIN, "--include-path-regex", OPERATIONS,
        "--exclude-path", "/api/operators/{operator_id}/events",
        "--phases", "examples,coverage,fuzzing,stateful", "--mode", "all",
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "-n", MAX_EXAMPLES, "--seed", "19", "--workers", "1", "--no-shrink",
        "--request-timeout", "10",
        "--report", "json,har", "--report-dir", str(reports),
    ]  # fmt: skip
    return subprocess.run(  # in the test's directory: its cache stays out of the repository
        argv, capture_output=True, text=True, timeout=RUN_SECONDS + 30, env=product_env(),
        cwd=reports.parent,
    )  # fmt: skip


def numbers(reports: Path) -> dict[str, Any]:
    report = json.loads(next(reports.glob("json-*.json")).read_text())
    har = json.loads(next(reports.glob("har-*.json")).read_text())
    return {
        "operations": report["operations"],
        "phases": {name: phase["status"] for name, phase in report["phases"].items()},
        "test_cases": report["test_cases"]["generated"],
        "requests": len(har["log"]["entries"]),
        "statuses": sorted({e["response"]["status"] for e in har["log"]["entries"]}),
        "failures": report["failures"],
        "errors": report["errors"],
    }


@pytest.mark.timeout(RUN_SECONDS + 60)
def test_schemathesis_finds_no_5xx_and_nothing_off_the_document(
    serve: Callable[..., Serve], tmp_path: Path
) -> None:
    process = serve("--workers", "0")
    process.wait_ready()
    run = schemathesis(process.base_url, tmp_path / "reports")
    found = numbers(tmp_path / "reports")
    print("schemathesis:", json.dumps(found))  # the numbers for the note (pytest -s)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert found["failures"] == [] and found["errors"] == [], found
    assert found["operations"]["tested"] == found["operations"]["selected"] >= 28, found
    assert set(found["phases"].values()) == {"success"}, found
    assert all(status < 500 for status in found["statuses"]), found
    assert {200, 201, 401, 404, 422} <= set(found["statuses"]), found
    assert found["requests"] > 300, found
    assert "Traceback" not in process.log(), process.log()[-4000:]
