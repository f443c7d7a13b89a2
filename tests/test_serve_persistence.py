"""A real `python -m gateway serve` on its embedded Valkey keeps contacts and cases across a
SIGTERM and a new `serve` in the same directory (the append-only file in var/redis)."""

from __future__ import annotations

import http.client
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from channels.signature import sign
from tests.helpers import SAMPLE_CONFIG, Serve

StartServe = Callable[..., Serve]
ADMIN = {"Authorization": "Bearer change-me-admin"}
SMS = {"id": "persist-1", "from": "8 (916) 123-45-67", "to": "+74950000099", "text": "SMS text"}


def request(
    base_url: str, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], Any]:
    """(status, headers, parsed JSON or raw bytes); redirects are not followed."""
    connection = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        kind = response.getheader("Content-Type", "")
        parsed = json.loads(raw) if kind.startswith("application/json") else raw
        return response.status, dict(response.getheaders()), parsed
    finally:
        connection.close()


def api(base_url: str, path: str) -> Any:
    status, _, body = request(base_url, "GET", path, **ADMIN)
    assert status == 200, body
    return body


def post_sms(base_url: str) -> tuple[int, bytes]:
    raw = json.dumps(SMS).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Intake-Signature": sign("sample-sms-secret", raw),
    }
    status, _, body = request(base_url, "POST", "/hooks/sms", raw, **headers)
    return status, json.dumps(body).encode()


def snapshot(base_url: str) -> dict[str, Any]:
    """What an operator sees: every case with its timeline, and both contacts with open cases."""
    cases = api(base_url, "/api/cases?limit=200")["cases"]
    return {
        "cases": [api(base_url, f"/api/cases/{case['id']}") for case in cases],
        "by_phone": api(base_url, "/api/contacts?phone=%2B79161234567"),
        "by_email": api(base_url, "/api/contacts?email=OLGA%40example.org"),
    }


def test_contacts_and_cases_survive_sigterm_and_a_new_serve(
    serve: StartServe, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    shutil.copy(SAMPLE_CONFIG, config)
    first = serve(config=config)
    first.wait_ready()

    status, sms_answer = post_sms(first.base_url)
    assert status == 200, first.log()
    form = urlencode({"name": "Olga", "email": "olga@example.org", "message": "Form text"})
    status, headers, _ = request(
        first.base_url, "POST", "/forms/contact", form.encode(),
        **{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
    )  # fmt: skip
    assert status == 303 and headers["Location"] == "/thanks"

    before = snapshot(first.base_url)
    cases = before["cases"]
    assert [(c["channel"], c["status"], c["service"]) for c in cases] == [
        ("webform", "queued", "support"),
        ("sms", "queued", "support"),
    ]
    assert cases[1]["contact"]["phones"] == ["+79161234567"]
    assert cases[1]["subject"] == "+79161234567 (Customer support)"
    assert cases[0]["contact"]["emails"] == ["olga@example.org"]
    assert cases[0]["subject"] == "Olga (Customer support)"
    texts = [[e["text"] for e in c["timeline"] if e["kind"] == "message"] for c in cases]
    assert texts == [["Form text"], ["SMS text"]]
    assert [c["id"] for c in before["by_phone"]["open_cases"]] == [cases[1]["id"]]
    assert [c["id"] for c in before["by_email"]["open_cases"]] == [cases[0]["id"]]

    assert first.stop() == 0, first.log()
    assert (tmp_path / "var" / "redis" / "appendonlydir").is_dir()

    second = serve(config=config)
    second.wait_ready()
    assert snapshot(second.base_url) == before
    # The provider's retry is still recognized, and case ids are never reused.
    assert post_sms(second.base_url) == (200, sms_answer)
    assert api(second.base_url, f"/api/cases/{cases[1]['id']}") == before["cases"][1]
    status, _, made = request(
        second.base_url, "POST", "/forms/contact",
        json.dumps({"email": "new@example.org", "text": "after restart"}).encode(),
        **{"Content-Type": "application/json"},
    )  # fmt: skip
    assert status == 201 and made["case_id"] > max(c["id"] for c in cases)
    assert second.stop() == 0, second.log()
