"""Logs: `[logging]` read and checked like every section; JSON lines that carry the request id
the response header shows, in the access line and in every other line of that request."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from channels.errors import ConfigError
from gateway.config import Config
from gateway.telemetry import logs
from gateway.telemetry.settings import Telemetry
from tests.conftest import ADMIN, SAMPLE, signed_sms

GatewayFactory = Callable[[Config], Any]


def with_logging(text: str) -> str:
    sample = SAMPLE.read_text()
    assert '[logging]\nformat = "text"' in sample
    return sample.replace('[logging]\nformat = "text"', text, 1)


def test_logging_section_is_read_and_checked(write_config: Callable[[str], Config]) -> None:
    config = write_config(with_logging('[logging]\nformat = "json"'))
    assert config.telemetry == Telemetry(log_format="json", log_level="info")
    with pytest.raises(ConfigError) as error:
        write_config(with_logging('[logging]\nformat = "xml"\ncolour = true'))
    problems = "\n".join(error.value.problems)
    assert "logging.format: expected one of text, json; got 'xml'" in problems
    assert "logging.colour: unknown key" in problems


async def post_sms(client: TestClient, n: int, headers: dict[str, str]) -> Any:
    sms = {"id": f"log{n}", "from": f"+7916777{n:04d}", "to": "+74950000000", "text": "hi"}
    signed = signed_sms(sms)
    resp = await client.post("/hooks/sms", data=signed["data"], headers={**signed["headers"],
                                                                         **headers})  # fmt: skip
    assert resp.status == 200
    return resp


async def test_json_lines_carry_the_request_id_of_the_response_header(
    gateway: TestClient, captured: Callable[[], list[str]]
) -> None:
    logs.configure(Telemetry(log_format="json", log_level="debug"))
    own = await post_sms(gateway, 1, {})
    given = await post_sms(gateway, 2, {"X-Request-Id": "crm-7f3a.42"})
    forged = await post_sms(gateway, 3, {"X-Request-Id": 'bad id" level=error'})
    lines = [json.loads(line) for line in captured() if line.strip()]
    rid = own.headers["X-Request-Id"]
    assert len(rid) == 16 and given.headers["X-Request-Id"] == "crm-7f3a.42"
    assert forged.headers["X-Request-Id"] not in ("", 'bad id" level=error')
    for resp in (own, given, forged):
        mine = [line for line in lines if line.get("request_id") == resp.headers["X-Request-Id"]]
        by_logger = {line["logger"]: line for line in mine}
        access = by_logger["gateway.access"]
        assert (access["method"], access["route"], access["status"]) == ("POST", "/hooks/sms", 200)
        assert access["duration_ms"] >= 0 and access["level"] == "info"
        assert "gateway.intake" in by_logger  # its debug line, written while storing
    assert all(line["ts"].endswith("Z") for line in lines)


async def test_text_lines_name_the_request_too(
    gateway: TestClient, captured: Callable[[], list[str]]
) -> None:
    logs.configure(Telemetry())
    resp = await gateway.get("/api/admin/queues", headers=ADMIN)
    assert resp.status == 200
    rid = resp.headers["X-Request-Id"]
    (line,) = [line for line in captured() if "gateway.access" in line]
    pattern = rf" INFO gateway\.access: GET /api/admin/queues 200 [0-9.]+ms \[request {rid}\]$"
    assert re.search(pattern, line), line


def test_without_the_sections_text_at_info_and_every_metric(
    write_config: Callable[[str], Config],
) -> None:
    sample = SAMPLE.read_text()
    start, end = sample.index("[logging]"), sample.index("[cases]")
    assert "[metrics]" in sample[start:end]
    config = write_config(sample[:start] + sample[end:])
    assert config.telemetry == Telemetry("text", "info", per_process_metrics=True)
    assert sample.count('level = "info"') == 1
    quiet = write_config(sample.replace('level = "info"', 'level = "warning"'))
    assert quiet.telemetry.log_level == "warning"
