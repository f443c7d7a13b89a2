"""Bad input at every HTTP edge: the SPEC status and error body, and nothing changed in Redis.

Each case runs against a gateway that already holds a contact and a case, snapshots every key
of the test (with its value) before the bad request and compares after it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from channels.signature import sign
from channels.sms import adapter as sms_channel
from gateway.http.app import MAX_BODY as APP_MAX_BODY
from routing.keys import Keys
from tests.conftest import ADMIN, signed_sms

SECRET = "sample-sms-secret"
ANNA = {"Authorization": "Bearer sample-token-anna"}
GOOD_SMS = {"id": "bad-1", "from": "+79161234567", "to": "+74950000099", "text": "hi"}


def raw_signed(body: bytes, content_type: str = "application/json", **sign_args: Any) -> Any:
    headers = {"X-Intake-Signature": sign(SECRET, body, **sign_args), "Content-Type": content_type}
    return {"data": body, "headers": headers}


def sms_without(name: str) -> dict[str, Any]:
    return signed_sms({k: v for k, v in GOOD_SMS.items() if k != name})


def forged(body: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    header = sign("not-the-secret", raw)
    return {
        "data": raw,
        "headers": {"X-Intake-Signature": header, "Content-Type": "application/json"},
    }


def tampered() -> dict[str, Any]:
    request = signed_sms(GOOD_SMS)
    request["data"] = json.dumps({**GOOD_SMS, "text": "changed"}).encode()
    return request


def big_multipart() -> FormData:
    half = b"\0" * (APP_MAX_BODY // 2 + 1024)
    data = FormData()
    data.add_field("email", "big@example.org")
    data.add_field("a", half, filename="a.bin", content_type="application/octet-stream")
    data.add_field("b", half, filename="b.bin", content_type="application/octet-stream")
    return data


@dataclass
class Bad:
    id: str
    method: str
    path: str
    status: int
    code: str
    request: Callable[[], dict[str, Any]] = dict
    field: str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=lambda: dict(ADMIN))


def _now() -> int:
    return int(time.time())


SMS_CASES = [
    Bad("sms-unsigned", "POST", "/hooks/sms", 401, "missing_signature",
        lambda: {"json": GOOD_SMS}),
    Bad("sms-wrong-secret", "POST", "/hooks/sms", 401, "bad_signature", lambda: forged(GOOD_SMS)),
    Bad("sms-tampered-body", "POST", "/hooks/sms", 401, "bad_signature", tampered),
    Bad("sms-garbage-signature", "POST", "/hooks/sms", 401, "bad_signature",
        lambda: {"json": GOOD_SMS, "headers": {"X-Intake-Signature": "sha256=abc"}}),
    Bad("sms-stale-6-min", "POST", "/hooks/sms", 401, "stale_signature",
        lambda: raw_signed(json.dumps(GOOD_SMS).encode(), timestamp=_now() - 360)),
    Bad("sms-future-6-min", "POST", "/hooks/sms", 401, "stale_signature",
        lambda: raw_signed(json.dumps(GOOD_SMS).encode(), timestamp=_now() + 360)),
    Bad("sms-malformed-json", "POST", "/hooks/sms", 400, "malformed_json",
        lambda: raw_signed(b'{"id": "x", "from": ')),
    Bad("sms-not-an-object", "POST", "/hooks/sms", 400, "malformed_json",
        lambda: raw_signed(b'["id", "from"]')),
    Bad("sms-not-utf8", "POST", "/hooks/sms", 400, "malformed_json",
        lambda: raw_signed(b'{"id": "\xff\xfe"}')),
    Bad("sms-form-encoded", "POST", "/hooks/sms", 415, "unsupported_media_type",
        lambda: raw_signed(b"id=1&from=2", "application/x-www-form-urlencoded")),
    Bad("sms-text-plain", "POST", "/hooks/sms", 415, "unsupported_media_type",
        lambda: raw_signed(json.dumps(GOOD_SMS).encode(), "text/plain")),
    *(
        Bad(f"sms-missing-{name}", "POST", "/hooks/sms", 422, "missing_field",
            lambda name=name: sms_without(name), field=name)  # type: ignore[misc]
        for name in ("id", "from", "to", "text")
    ),
    Bad("sms-from-not-a-string", "POST", "/hooks/sms", 422, "invalid_field",
        lambda: signed_sms({**GOOD_SMS, "from": ["+79161234567"]}), field="from"),
    Bad("sms-bad-received-at", "POST", "/hooks/sms", 422, "invalid_field",
        lambda: signed_sms({**GOOD_SMS, "received_at": "yesterday"}), field="received_at"),
    Bad("sms-oversize-signed", "POST", "/hooks/sms", 413, "payload_too_large",
        lambda: signed_sms({**GOOD_SMS, "text": "x" * sms_channel.MAX_BODY})),
]  # fmt: skip

FORM_CASES = [
    Bad("form-unknown", "POST", "/forms/nope", 404, "form_not_found",
        lambda: {"json": {"email": "a@example.org"}}),
    Bad("form-text-plain", "POST", "/forms/contact", 415, "unsupported_media_type",
        lambda: {"data": b"email=a@example.org", "headers": {"Content-Type": "text/plain"}}),
    Bad("form-malformed-json", "POST", "/forms/contact", 400, "malformed_json",
        lambda: {"data": b"{email", "headers": {"Content-Type": "application/json"}}),
    Bad("form-no-phone-or-email", "POST", "/forms/contact", 422, "missing_field",
        lambda: {"json": {"name": "Nobody", "message": "hi"}}, field="phone"),
    Bad("form-bad-email", "POST", "/forms/contact", 422, "invalid_field",
        lambda: {"data": {"email": "not-an-address", "message": "hi"}}, field="email"),
    Bad("form-oversize-json", "POST", "/forms/contact", 413, "payload_too_large",
        lambda: {"data": b"{" + b" " * APP_MAX_BODY + b"}",
                 "headers": {"Content-Type": "application/json"}}),
    Bad("form-oversize-multipart", "POST", "/forms/contact", 413, "payload_too_large",
        lambda: {"data": big_multipart()}),
]  # fmt: skip

API_CASES = [
    Bad("api-no-token", "GET", "/api/cases", 401, "missing_token", headers={}),
    Bad("api-basic-auth", "GET", "/api/cases", 401, "missing_token",
        headers={"Authorization": "Basic YW5uYTpwdw=="}),
    Bad("api-bad-token", "GET", "/api/cases/1", 401, "bad_token",
        headers={"Authorization": "Bearer sample-token-nobody"}),
    Bad("api-bad-token-post", "POST", "/api/cases", 401, "bad_token",
        lambda: {"json": {"contact": {"phone": "+79160000000"}, "text": "t"}},
        headers={"Authorization": "Bearer wrong"}),
    Bad("api-bad-token-contacts", "GET", "/api/contacts?phone=%2B79161234567", 401, "bad_token",
        headers={"Authorization": "Bearer wrong"}),
    Bad("operator-other-operator", "GET", "/api/operators/boris", 403, "not_yours",
        headers=ANNA),
    Bad("operator-other-presence", "PUT", "/api/operators/boris/presence", 403, "not_yours",
        lambda: {"json": {"presence": "available"}}, headers=ANNA),
    Bad("operator-unknown", "GET", "/api/operators/zed", 404, "operator_not_found"),
    Bad("case-unknown", "GET", "/api/cases/999999", 404, "case_not_found", headers=ANNA),
    Bad("case-not-a-number", "GET", "/api/cases/abc", 404, "case_not_found"),
    Bad("case-zero", "GET", "/api/cases/0", 404, "case_not_found"),
    Bad("case-unknown-resolve", "POST", "/api/cases/999999/resolve", 404, "case_not_found"),
    Bad("cases-bad-limit", "GET", "/api/cases?limit=0", 422, "invalid_field", field="limit"),
    Bad("cases-huge-limit", "GET", "/api/cases?limit=100000", 422, "invalid_field",
        field="limit"),
    Bad("cases-bad-status", "GET", "/api/cases?status=lost", 422, "invalid_field",
        field="status"),
    Bad("cases-bad-cursor", "GET", "/api/cases?cursor=zz", 400, "bad_cursor"),
    Bad("manual-no-text", "POST", "/api/cases", 422, "missing_field",
        lambda: {"json": {"contact": {"phone": "+79160000000"}}}, field="text"),
    Bad("manual-no-contact", "POST", "/api/cases", 422, "missing_field",
        lambda: {"json": {"text": "t"}}, field="contact"),
    Bad("manual-unknown-service", "POST", "/api/cases", 422, "invalid_field",
        lambda: {"json": {"contact": {"phone": "+79160000000"}, "text": "t", "service": "x"}},
        field="service"),
    Bad("manual-form-encoded", "POST", "/api/cases", 415, "unsupported_media_type",
        lambda: {"data": {"text": "t"}}),
    Bad("manual-malformed-json", "POST", "/api/cases", 400, "malformed_json",
        lambda: {"data": b"[", "headers": {**ADMIN, "Content-Type": "application/json"}}),
    Bad("contacts-no-query", "GET", "/api/contacts", 422, "missing_field", field="phone"),
    Bad("contacts-unknown", "GET", "/api/contacts?email=who@example.org", 404,
        "contact_not_found"),
    Bad("hook-wrong-method", "GET", "/hooks/sms", 405, "method_not_allowed"),
    Bad("unknown-path", "GET", "/nothing/here", 404, "not_found"),
]  # fmt: skip


def snapshot(client: redis.Redis, keys: Keys) -> dict[bytes, bytes]:
    """Every key of this test with its serialized value (leases renew on their own: left out)."""
    names = sorted(client.scan_iter(match=f"{keys.prefix}*", count=1000))
    return {name: client.dump(name) or b"" for name in names if b":lease:" not in name}


@pytest.fixture
async def seeded(gateway: TestClient) -> TestClient:
    """A gateway that already stored one SMS (case 1) and one web form (case 2)."""
    assert (await gateway.post("/hooks/sms", **signed_sms(GOOD_SMS))).status == 200
    form = await gateway.post("/forms/contact", json={"email": "seed@example.org", "text": "x"})
    assert form.status == 201
    return gateway


@pytest.mark.parametrize("bad", SMS_CASES + FORM_CASES + API_CASES, ids=lambda bad: bad.id)
async def test_bad_input_gets_the_spec_error_and_changes_nothing(
    bad: Bad, seeded: TestClient, sync_redis: redis.Redis, keys: Keys
) -> None:
    before = snapshot(sync_redis, keys)
    assert before
    request = bad.request()
    headers = {**bad.headers, **request.pop("headers", {})}
    response = await seeded.request(bad.method, bad.path, headers=headers, **request)
    raw = await response.text()

    assert response.status == bad.status, raw
    assert response.content_type == "application/json"
    body = json.loads(raw)
    assert list(body) == ["error"], body
    error = body["error"]
    expected = {"code", "message", "field"} if bad.field else {"code", "message"}
    assert set(error) == expected, error
    assert error["code"] == bad.code
    assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", error["code"])
    assert isinstance(error["message"], str) and error["message"].strip()
    assert error.get("field") == bad.field
    assert "Traceback" not in raw and 'File "' not in raw
    assert snapshot(sync_redis, keys) == before


async def test_a_good_request_after_bad_ones_still_works(seeded: TestClient) -> None:
    """The bad requests above left the connection pool and scripts usable."""
    stale = raw_signed(json.dumps({**GOOD_SMS, "id": "late"}).encode(), timestamp=_now() - 360)
    assert (await seeded.post("/hooks/sms", **stale)).status == 401
    fresh = await seeded.post("/hooks/sms", **signed_sms({**GOOD_SMS, "id": "late"}))
    assert fresh.status == 200
    assert (await fresh.json())["case_id"] == 1
    within = raw_signed(json.dumps({**GOOD_SMS, "id": "recent"}).encode(), timestamp=_now() - 240)
    assert (await seeded.post("/hooks/sms", **within)).status == 200
