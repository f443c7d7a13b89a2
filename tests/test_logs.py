"""Logs: `[logging]` read and checked like every section; JSON lines that carry the request id
the response header shows, in the access line and in every other line of that request."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from channels.errors import ConfigError
from gateway.config import Config
from gateway.telemetry import logs
from gateway.telemetry.context import REQUEST_ID
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


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_access_line_written_straight_is_the_line_logging_writes(
    captured: Callable[[], list[str]], log_format: str
) -> None:
    """observe's access line skips the LogRecord while the setup is `configure`'s own; a filter
    on the logger (or another handler) sends it through logging: the same line either way."""
    logs.configure(Telemetry(log_format=log_format))
    fields = {"method": "POST", "route": "/hooks/sms", "status": 200, "duration_ms": 1.25}
    token = REQUEST_ID.set("crm-1")
    access = logging.getLogger(logs.ACCESS_LOGGER)
    factory = logging.getLogRecordFactory()
    made: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made.append(1)
        return factory(*args, **kwargs)

    logging.setLogRecordFactory(counting)
    try:
        logs.access("POST /hooks/sms 200 1.25ms", fields)
        assert made == []  # straight into the handler's batch
        access.addFilter(lambda record: True)
        logs.access("POST /hooks/sms 200 1.25ms", fields)
        assert made == [1]
    finally:
        logging.setLogRecordFactory(factory)
        access.filters.clear()
        REQUEST_ID.reset(token)
    straight, through = captured()
    if log_format == "json":
        first, second = json.loads(straight), json.loads(through)
        assert re.fullmatch(r"[0-9T:-]{19}\.[0-9]{3}Z", first.pop("ts")) and second.pop("ts")
        assert first == second and first["request_id"] == "crm-1" and first["status"] == 200
    else:
        stamp = re.compile(r"^\S+ \S+ ")  # date and time
        assert stamp.sub("", straight) == stamp.sub("", through)
        assert straight.endswith(" INFO gateway.access: POST /hooks/sms 200 1.25ms [request crm-1]")
