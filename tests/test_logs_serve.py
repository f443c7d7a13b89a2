"""A real `python -m gateway serve` with `[logging] format = "json"`: every line it and its
children write parses as JSON, each request's access line carries the id of its X-Request-Id
header, a mail's id reaches the lines of the RQ job it caused (in the worker process), and no
token, signature, secret or message text shows in any line at info level."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from channels.signature import sign
from tests.conftest import SAMPLE
from tests.helpers import Serve, wait_for
from tests.smtp_helpers import mail, send_sync, wire

BODY = "my card number is 4111-1111-1111-1111 and my passphrase is hunter2"
SECRETS = [
    "change-me-admin", "sample-token-anna", "wrong-token-7c1d", "sample-sms-secret",
    "4111-1111", "hunter2", "Bearer", "Authorization",
]  # fmt: skip


def request(base: str, method: str, path: str, body: bytes | None = None,
            **headers: str) -> tuple[int, str]:  # fmt: skip
    """(status, X-Request-Id) on a fresh connection."""
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.headers["X-Request-Id"]
    except urllib.error.HTTPError as error:
        return error.code, error.headers["X-Request-Id"]


def scenario(base: str, smtp_port: int) -> tuple[list[tuple[int, str]], list[str]]:
    """Requests full of secrets; returns their (status, request id) and the signatures sent."""
    sms = json.dumps({"id": "s1", "from": "+79161112233", "to": "+74950000000", "text": BODY})
    signature = sign("sample-sms-secret", sms.encode())
    form = urlencode({"name": "Ivan", "phone": "+79161112234", "message": BODY}).encode()
    admin, anna = "Bearer change-me-admin", "Bearer sample-token-anna"
    answers = [
        request(base, "POST", "/hooks/sms", sms.encode(), **{"X-Intake-Signature": signature,
                "Content-Type": "application/json", "X-Request-Id": "provider-req-1"}),
        request(base, "POST", "/forms/contact", form, Accept="application/json",
                **{"Content-Type": "application/x-www-form-urlencoded"}),
        request(base, "GET", "/api/operators/anna", Authorization=anna),
        request(base, "PUT", "/api/operators/anna/presence", b'{"presence": "available"}',
                Authorization=anna, **{"Content-Type": "application/json"}),
        request(base, "GET", "/api/cases/1", Authorization="Bearer wrong-token-7c1d"),
        request(base, "GET", "/api/admin/config", Authorization=admin),
        request(base, "GET", "/metrics", Authorization=admin),
    ]  # fmt: skip
    # to billing (ack = true): the acknowledgement is a job, so the worker logs about it too
    send_sync(smtp_port, wire(mail(BODY, subject="hunter2 inside")), to=("billing@example.com",))
    return answers, [signature.partition("v1=")[2]]


def test_json_lines_with_request_ids_and_no_secret(
    tmp_path: Path, serve: Callable[..., Serve]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(SAMPLE.read_text().replace('format = "text"', 'format = "json"', 1))
    gateway = serve("--processes", "1", "--workers", "1", config=path)
    gateway.wait_ready()
    answers, signatures = scenario(gateway.base_url, gateway.smtp_port)
    assert [status for status, _ in answers] == [200, 201, 200, 200, 401, 200, 200]
    wait_for(lambda: "Job OK" in gateway.log() or "failed" in gateway.log(), 30, "the ack job")
    assert gateway.stop() == 0
    text = gateway.log()
    lines: list[dict[str, Any]] = [json.loads(line) for line in text.splitlines() if line]
    access = {line["request_id"]: line for line in lines if line["logger"] == "gateway.access"}
    assert answers[0][1] == "provider-req-1"
    for status, rid in answers:
        assert (access[rid]["status"], access[rid]["level"]) == (status, "info")
    assert access["provider-req-1"]["route"] == "/hooks/sms"
    assert access[answers[2][1]]["route"] == "/api/operators/{operator_id}"
    (smtp,) = [line for line in lines if line["msg"].startswith("smtp mail:")]
    assert len(smtp["request_id"]) == 16 and smtp["msg"].endswith(": 250")
    # the mail's acknowledgement job: enqueued, run and finished under the mail's id
    mails = [line for line in lines if line.get("request_id") == smtp["request_id"]]
    (enqueued,) = [line for line in lines if line["msg"].startswith("enqueued send email")]
    assert enqueued in mails and enqueued["logger"] == "gateway.runtime.outbox"
    job_id = enqueued["msg"].rpartition("(")[2].rstrip(")")
    in_worker = [line for line in mails if line["pid"] != enqueued["pid"]]
    assert {"rq.worker", "worker.jobs.outbound"} <= {line["logger"] for line in in_worker}
    assert any("Job OK" in line["msg"] and job_id in line["msg"] for line in in_worker)
    for secret in [*SECRETS, *signatures]:
        assert secret not in text, f"{secret!r} is in the log"
