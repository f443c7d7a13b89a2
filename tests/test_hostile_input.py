"""Regressions for each class of hostile input issue 12 found (and a few more of each kind).

Every request is sent as raw bytes on its own connection to the gateway as the acceptor serves
it; each must get its SPEC status and JSON error body and leave every key of the test as it was.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import redis
from aiohttp.test_utils import TestClient

from bench import fuzzcases
from bench.fuzzcases import Request
from channels.signature import sign
from routing.keys import Keys
from tests.conftest import signed_sms
from tests.helpers import Serve
from tests.test_bad_input import snapshot

SECRET = "sample-sms-secret"
GOOD = {"id": "h-1", "from": "+79161234567", "to": "+74950000099", "text": "hi"}
ADMIN = (b"Authorization", b"Bearer change-me-admin")
JSON_TYPE = (b"Content-Type", b"application/json")


@dataclass(frozen=True)
class Hostile:
    id: str
    request: Request
    status: int
    code: str
    field: str | None = None


def sms(body: bytes, signature: bytes | None = None) -> Request:
    header = sign(SECRET, body).encode() if signature is None else signature
    return Request(b"POST", b"/hooks/sms", (JSON_TYPE, (b"X-Intake-Signature", header)), body)


def sms_with(**fields: object) -> Request:
    return sms(json.dumps({**GOOD, **fields}).encode())


def form(kind: bytes, body: bytes, *headers: tuple[bytes, bytes]) -> Request:
    accept = (b"Accept", b"application/json")
    return Request(b"POST", b"/forms/contact", ((b"Content-Type", kind), accept, *headers), body)


def part(disposition: bytes, value: bytes, *headers: bytes, boundary: bytes = b"B") -> bytes:
    head = b"\r\n".join((b"Content-Disposition: form-data; " + disposition, *headers))
    return b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + value + b"\r\n"


EMAIL_PART = part(b'name="email"', b"m@example.org")
MULTIPART = b"multipart/form-data; boundary=B"


def api(method: bytes, target: bytes, body: object = None, *extra: tuple[bytes, bytes]) -> Request:
    raw = b"" if body is None else json.dumps(body).encode()
    return Request(method, target, (ADMIN, JSON_TYPE, *extra), raw)


def manual(**fields: object) -> Request:
    body = {"contact": {"phone": "+79160000003"}, "text": "t", **fields}
    return api(b"POST", b"/api/cases", body)


def raw(line: bytes, *headers: tuple[bytes, bytes]) -> Request:
    method, target = line.split(b" ", 1)
    return Request(method, target, headers, b"")


NOW = int(time.time())
SIGNATURES = [
    Hostile("sig-arabic-digit-t", sms(b"{}", "t=\u0663,v1=".encode() + b"a" * 64), 401,
            "bad_signature"),
    Hostile("sig-plus-t", sms(b"{}", b"t=+%d,v1=" % NOW + b"a" * 64), 401, "bad_signature"),
    Hostile("sig-huge-t", sms(b"{}", b"t=" + b"9" * 5000 + b",v1=" + b"a" * 64), 401,
            "bad_signature"),
    Hostile("sig-huge-v1", sms(b"{}", b"t=%d,v1=" % NOW + b"f" * 6000), 401, "bad_signature"),
    Hostile("sig-non-ascii-v1", sms(b"{}", "t=1,v1=я".encode()), 401, "bad_signature"),
    Hostile("sig-latin1-bytes", sms(b"{}", b"t=\xff\xfe,v1=\xe9"), 401, "bad_signature"),
    Hostile("sig-header-too-long", sms(b"{}", b"t=1,v1=" + b"f" * 100_000), 400,
            "malformed_request"),
]  # fmt: skip
NUMBERS = [
    Hostile("json-infinity", sms(b'{"id": Infinity}'), 400, "malformed_json"),
    Hostile("json-nan", sms(b'{"id": "x", "received_at": NaN}'), 400, "malformed_json"),
    Hostile("json-1e400", sms(json.dumps(GOOD).encode()[:-1] + b', "received_at": 1e400}'), 422,
            "invalid_field", "received_at"),
    Hostile("json-1e308-time", sms_with(received_at=1e308), 422, "invalid_field", "received_at"),
    Hostile("json-huge-int-time", sms(json.dumps(GOOD).encode()[:-1] + b', "received_at": 1'
            + b"0" * 400 + b"}"), 422, "invalid_field", "received_at"),
    Hostile("json-float-id", sms_with(id=1.5), 422, "invalid_field", "id"),
    Hostile("json-huge-int-text", sms(b'{"id": 1' + b"0" * 400 + b', "from": "1", "to": "2"}'),
            422, "invalid_field", "id"),
    Hostile("json-lone-surrogate", sms(json.dumps(GOOD).encode()[:-1] + b', "text": "\\ud800"}'),
            422, "invalid_field", "text"),
    Hostile("json-nul", sms_with(text="a\x00b"), 422, "invalid_field", "text"),
    Hostile("json-deep-nesting", sms(b"[" * 60_000), 400, "malformed_json"),
    Hostile("json-deep-object", sms(b'{"id":' * 5000), 400, "malformed_json"),
    Hostile("json-bool-id", sms_with(id=True), 422, "invalid_field", "id"),
]  # fmt: skip
TIMES = [
    Hostile("time-far-future", sms_with(received_at="9999-12-31T23:59:59Z"), 422,
            "invalid_field", "received_at"),
    Hostile("time-before-2000", sms_with(received_at="1999-12-31T23:59:59Z"), 422,
            "invalid_field", "received_at"),
    Hostile("time-two-days-ahead", sms_with(received_at=NOW + 2 * 86400), 422, "invalid_field",
            "received_at"),
    Hostile("time-milliseconds", sms_with(received_at=NOW * 1000), 422, "invalid_field",
            "received_at"),
    Hostile("time-negative", sms_with(received_at=-1), 422, "invalid_field", "received_at"),
    Hostile("time-year-0-offset", sms_with(received_at="0001-01-01T00:00:00+01:00"), 422,
            "invalid_field", "received_at"),
    Hostile("time-no-zone", sms_with(received_at="2024-01-01T00:00:00"), 422, "invalid_field",
            "received_at"),
    Hostile("time-bad-date", sms_with(received_at="2024-02-30T00:00:00Z"), 422,
            "invalid_field", "received_at"),
    Hostile("pause-until-year-0", api(b"POST", b"/api/cases/1/pause",
            {"reason": "r", "until": "0001-01-01T00:00:00+01:00"}), 422, "invalid_field",
            "until"),
    Hostile("pause-until-number", api(b"POST", b"/api/cases/1/pause",
            {"reason": "r", "until": 1e308}), 422, "invalid_field", "until"),
]  # fmt: skip
FORMS = [
    Hostile("multipart-no-boundary", form(b"multipart/form-data", EMAIL_PART + b"--B--\r\n"),
            400, "malformed_form"),
    Hostile("multipart-wrong-boundary", form(b"multipart/form-data; boundary=other",
            EMAIL_PART + b"--B--\r\n"), 400, "malformed_form"),
    Hostile("multipart-huge-boundary", form(b"multipart/form-data; boundary=" + b"x" * 5000,
            part(b'name="email"', b"m@example.org", boundary=b"x" * 5000)), 400,
            "malformed_form"),
    Hostile("multipart-truncated", form(MULTIPART, EMAIL_PART[:20]), 400, "malformed_form"),
    Hostile("multipart-unknown-charset", form(MULTIPART, EMAIL_PART + part(b'name="text"', b"x",
            b"Content-Type: text/plain; charset=nope") + b"--B--\r\n"), 415,
            "unsupported_media_type"),
    Hostile("multipart-bad-transfer-encoding", form(MULTIPART, EMAIL_PART + part(
            b'name="text"', b"x", b"Content-Transfer-Encoding: x-uuencode") + b"--B--\r\n"), 415,
            "unsupported_media_type"),
    Hostile("multipart-broken-base64", form(MULTIPART, EMAIL_PART + part(
            b'name="text"', b"QUJ", b"Content-Transfer-Encoding: base64") + b"--B--\r\n"), 400,
            "malformed_form"),
    Hostile("multipart-gzip-part", form(MULTIPART, EMAIL_PART + part(
            b'name="text"', b"x", b"Content-Encoding: gzip") + b"--B--\r\n"), 415,
            "unsupported_media_type"),
    Hostile("multipart-huge-file-name", form(MULTIPART, EMAIL_PART + part(
            b'name="f"; filename="' + b"n" * 5000 + b'"', b"data") + b"--B--\r\n"), 422,
            "invalid_field", "f"),
    Hostile("multipart-non-ascii-file-type", form(MULTIPART, EMAIL_PART + part(
            b'name="f"; filename="a.txt"', b"data", b"Content-Type: \xff/\xd1\x8f")
            + b"--B--\r\n"), 422, "invalid_field", "f"),
    Hostile("multipart-nul-in-field", form(MULTIPART, EMAIL_PART + part(b'name="text"', b"a\0")
            + b"--B--\r\n"), 422, "invalid_field", "text"),
    Hostile("multipart-control-in-part-header", form(MULTIPART, EMAIL_PART + part(
            b'name="\x1a"', b"x") + b"--B--\r\n"), 400, "malformed_form"),
    Hostile("urlencoded-invalid-bytes", form(b"application/x-www-form-urlencoded",
            b"email=m%40example.org&text=\xff\xfe"), 400, "malformed_form"),
    Hostile("urlencoded-invalid-percent-bytes", form(b"application/x-www-form-urlencoded",
            b"email=m%40example.org&text=%FF%FE"), 400, "malformed_form"),
    Hostile("urlencoded-unknown-charset", form(
            b"application/x-www-form-urlencoded; charset=nope", b"email=m%40example.org"), 415,
            "unsupported_media_type"),
    Hostile("urlencoded-rot13-charset", form(
            b"application/x-www-form-urlencoded; charset=rot13", b"email=m%40example.org"), 415,
            "unsupported_media_type"),
    Hostile("urlencoded-nul", form(b"application/x-www-form-urlencoded",
            b"email=m%40example.org&text=%00"), 422, "invalid_field", "text"),
    Hostile("form-json-object-value", form(b"application/json",
            b'{"email": "m@example.org", "text": {"a": 1}}'), 422, "invalid_field", "text"),
]  # fmt: skip
TYPES = [
    Hostile("manual-service-number", manual(service=5), 422, "invalid_field", "service"),
    Hostile("manual-service-list", manual(service=["support"]), 422, "invalid_field", "service"),
    Hostile("manual-type-object", manual(type={"a": 1}), 422, "invalid_field", "type"),
    Hostile("manual-subject-list", manual(subject=["s"]), 422, "invalid_field", "subject"),
    Hostile("manual-text-bool", manual(text=True), 422, "invalid_field", "text"),
    Hostile("manual-phone-list", manual(contact={"phone": ["+79160000003"]}), 422,
            "invalid_field", "contact.phone"),
    Hostile("manual-name-number", manual(contact={"phone": "+79160000003", "name": 1.5}), 422,
            "invalid_field", "contact.name"),
    Hostile("manual-no-phone-or-email", manual(contact={"name": "N"}), 422, "invalid_field",
            "contact.phone"),
    Hostile("owner-object", api(b"PATCH", b"/api/contacts/c1", {"owner": {"id": "anna"}}), 422,
            "invalid_field", "owner"),
    Hostile("owner-list", api(b"PATCH", b"/api/contacts/c1", {"owner": ["anna"]}), 422,
            "invalid_field", "owner"),
    Hostile("presence-list", api(b"PUT", b"/api/operators/anna/presence",
            {"presence": ["away"]}), 422, "invalid_field", "presence"),
    Hostile("transfer-operator-number", api(b"POST", b"/api/cases/1/transfer", {"operator": 1}),
            422, "invalid_field", "operator"),
    Hostile("note-text-object", api(b"POST", b"/api/cases/1/note", {"text": {}}), 422,
            "invalid_field", "text"),
    Hostile("explain-channel-list", api(b"POST", b"/api/admin/explain", {"channel": ["sms"]}),
            422, "invalid_field", "channel"),
    Hostile("explain-from-object", api(b"POST", b"/api/admin/explain",
            {"channel": "sms", "from": {}}), 422, "invalid_field", "from"),
    Hostile("explain-field-list", api(b"POST", b"/api/admin/explain",
            {"channel": "webform", "fields": {"topic": []}}), 422, "invalid_field",
            "fields.topic"),
    Hostile("idempotency-key-non-ascii", form(b"application/json",
            b'{"email": "m@example.org"}', (b"Idempotency-Key", "ключ".encode())), 422,
            "invalid_field", "Idempotency-Key"),
    Hostile("idempotency-key-latin1", Request(b"POST", b"/api/cases", (ADMIN, JSON_TYPE,
            (b"Idempotency-Key", b"\xff\xfe")), b'{"contact": {"phone": "1"}, "text": "t"}'),
            422, "invalid_field", "Idempotency-Key"),
    Hostile("authorization-non-ascii", Request(b"GET", b"/api/cases",
            ((b"Authorization", "Bearer токен".encode()),), b""), 401, "bad_token"),
    Hostile("expect-unknown", Request(b"POST", b"/hooks/sms", ((b"Expect", b"tea"),), b""),
            417, "expectation_failed"),
    Hostile("expect-not-utf8", Request(b"POST", b"/hooks/sms", ((b"Expect", b"\xff"),), b""),
            417, "expectation_failed"),
]  # fmt: skip
IDS = [
    *(
        Hostile(f"path-id-{name}", api(b"GET", b"/api/cases/" + given), 404, "case_not_found")
        for name, given in [
            ("arabic-three", b"%D9%A3"), ("arabic-indic-digits", b"%D9%A3%D9%A4"),
            ("fullwidth-one", b"%EF%BC%91"), ("plus", b"%2B1"), ("space", b"%201"),
            ("underscore", b"1_0"), ("zero", b"0"), ("beyond-2-53", str(2**53 + 1).encode()),
            ("astronomical", b"9" * 5000), ("negative", b"-1"), ("hex", b"0x1"),
        ]
    ),
    Hostile("path-id-action", api(b"POST", b"/api/cases/%D9%A3/resolve"), 404,
            "case_not_found"),
    Hostile("path-attachment-id", api(b"GET", b"/api/cases/1/attachments/%D9%A3"), 404,
            "attachment_not_found"),
    Hostile("query-limit-arabic", api(b"GET", b"/api/cases?limit=%D9%A3"), 422,
            "invalid_field", "limit"),
    Hostile("query-limit-huge", api(b"GET", b"/api/cases?limit=" + b"9" * 5000), 422,
            "invalid_field", "limit"),
    Hostile("query-cursor-arabic", api(b"GET", b"/api/cases?cursor=%D9%A3"), 400,
            "bad_cursor"),
    Hostile("query-cursor-underscore", api(b"GET", b"/api/cases?cursor=1_0"), 400,
            "bad_cursor"),
    Hostile("body-case-id-too-big", api(b"POST", b"/api/admin/explain", {"case_id": 2**53 + 1}),
            422, "invalid_field", "case_id"),
    Hostile("body-case-id-arabic", api(b"POST", b"/api/admin/explain", {"case_id": "\u0663"}),
            422, "invalid_field", "case_id"),
    Hostile("body-case-id-float", api(b"POST", b"/api/admin/explain", {"case_id": 1.0}), 422,
            "invalid_field", "case_id"),
]  # fmt: skip
PARSER = [
    Hostile("request-line-too-long", raw(b"GET /" + b"a" * 20_000), 400, "malformed_request"),
    Hostile("header-too-long", raw(b"GET /healthz", (b"X-Long", b"v" * 20_000)), 400,
            "malformed_request"),
    Hostile("invalid-method", raw(b"G\xffT /healthz"), 400, "malformed_request"),
    Hostile("unknown-method", raw(b"BREW /hooks/sms"), 400, "malformed_request"),
    Hostile("wrong-method", raw(b"DELETE /hooks/sms"), 405, "method_not_allowed"),
    Hostile("bad-header-name", raw(b"GET /healthz", (b"Bad Name", b"v")), 400,
            "malformed_request"),
    Hostile("nul-in-header", raw(b"GET /healthz", (b"X", b"a\x00b")), 400, "malformed_request"),
    Hostile("bad-transfer-encoding", raw(b"POST /hooks/sms", (b"Transfer-Encoding", b"gzip")),
            400, "malformed_request"),
    Hostile("unknown-path", raw(b"GET /nothing"), 404, "not_found"),
    Hostile("raw-non-ascii-path", raw("GET /api/cases/\u0663".encode()), 400,
            "malformed_request"),
]  # fmt: skip
ALL = SIGNATURES + NUMBERS + TIMES + FORMS + TYPES + IDS + PARSER


@pytest.fixture
async def seeded_edge(edge: TestClient) -> TestClient:
    """The acceptor's gateway holding case 1 (an SMS) and its contact."""
    assert (await edge.post("/hooks/sms", **signed_sms(GOOD))).status == 200
    return edge


@pytest.mark.parametrize("bad", ALL, ids=lambda bad: bad.id)
async def test_hostile_input_gets_the_spec_error_and_changes_nothing(
    bad: Hostile, seeded_edge: TestClient, sync_redis: redis.Redis, keys: Keys
) -> None:
    before = snapshot(sync_redis, keys)
    host, port = str(seeded_edge.server.host), int(seeded_edge.server.port or 0)
    answer = await asyncio.to_thread(fuzzcases.send, host, port, bad.request)

    assert fuzzcases.check(answer) is None, answer
    assert answer.status == bad.status, answer
    error = json.loads(answer.body)["error"]
    assert error["code"] == bad.code, error
    assert error.get("field") == bad.field, error
    assert snapshot(sync_redis, keys) == before


def test_serve_answers_parser_errors_with_the_json_body(serve: Callable[..., Serve]) -> None:
    """The acceptor processes of `serve` use the same runner as the in-process tests above."""
    process = serve("--workers", "0")
    process.wait_ready()
    for bad in PARSER:
        answer = fuzzcases.send("127.0.0.1", process.http_port, bad.request)
        assert fuzzcases.check(answer) is None, (bad.id, answer)
        assert (answer.status, json.loads(answer.body)["error"]["code"]) == (bad.status, bad.code)
