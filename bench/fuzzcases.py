"""Hostile HTTP requests for every route that takes input, as hypothesis strategies.

Shared by the suite (tests/test_fuzz.py, seeded and bounded) and `bench/fuzz.py` (long runs).
A request is raw bytes on its own connection, so anything a client can put on the wire (bad
framing, non-ASCII in the request line or headers) can be sent; `check` says what is wrong with
an answer: a 5xx, or a 4xx without the SPEC's JSON error body.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from channels.signature import sign

SMS_SECRET = "sample-sms-secret"  # [channels.sms].secret of the sample config
ADMIN = "Bearer change-me-admin"
ANNA = "Bearer sample-token-anna"


@dataclass(frozen=True)
class Request:
    method: bytes
    target: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def wire(self) -> bytes:
        lines = [self.method + b" " + self.target + b" HTTP/1.1", b"Host: fuzz"]
        lines += [name + b": " + value for name, value in self.headers]
        lines += [b"Content-Length: " + str(len(self.body)).encode(), b"Connection: close"]
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def send(host: str, port: int, request: Request, timeout: float = 30) -> Answer:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request.wire())
        response = http.client.HTTPResponse(sock, method=request.method.decode("latin-1"))
        response.begin()
        body = response.read()
        kind = response.getheader("Content-Type", "").split(";")[0].strip()
        return Answer(response.status, kind, body)


def check(answer: Answer) -> str | None:
    """What is wrong with this answer by the SPEC, or None."""
    if answer.status >= 500:
        return f"{answer.status}: {answer.body[:300]!r}"
    if answer.status < 400:
        return None
    if answer.content_type != "application/json":
        return f"{answer.status} as {answer.content_type}: {answer.body[:300]!r}"
    try:
        error = json.loads(answer.body)["error"]
        shaped = isinstance(error["code"], str) and isinstance(error["message"], str)
        shaped = shaped and set(error) <= {"code", "message", "field", "problems"}
    except (ValueError, KeyError, TypeError):
        shaped = False
    return None if shaped else f"{answer.status} without the error body: {answer.body[:300]!r}"


# --- values -------------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, -1, 2**53, 2**53 + 1, 1e308, -1e308, 1e-308]),
)
ODD_TEXT = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "٣", "+3", " 3 ", "3_0", "1e3", "\uff10", "\u202e", "😀", "\ufeff"]
)
TEXT = st.one_of(st.text(max_size=40), ODD_TEXT, st.text(min_size=300, max_size=3000))
JSON_LEAF = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
# Literal JSON text that json.dumps will not write: non-finite numbers, lone surrogates,
# huge numbers, deep nesting, duplicate keys, trailing garbage.
RAW_JSON = st.sampled_from(
    [
        b"NaN", b"Infinity", b"-Infinity", b"1e400", b"[1e999]", b"9" * 5000,
        b'"\\ud800"', b'"\\udfff x"', b'"a\\u0000b"', b"[" * 100_000, b"{" * 5000,
        b'{"a":1,"a":2}', b"{}garbage", b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"",
    ]
)  # fmt: skip
TIMES = st.one_of(
    NUMBERS,
    st.sampled_from(
        [
            "2000-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00+01:00", "2024-02-30T00:00:00Z", "2024-01-01T25:00:00Z",
            "2024-01-01", "yesterday", "1e308", "NaN", "-1", "99999999999999",
            "2024-01-01T00:00:00", "2024-01-01T00:00:00.123456789Z", "1700000000",
        ]
    ),
    TEXT,
)  # fmt: skip
IDS = st.one_of(
    st.sampled_from(
        ["0", "1", "2", "-1", "+1", " 1", "1 ", "1_0", "٣", "\uff11", "1.0", "0x1", "9" * 17,
         "9" * 5000, str(2**53), str(2**53 + 1), "%00", "%2e%2e", "", "abc", "1%0a"]
    ),
    st.integers(min_value=0, max_value=2**64).map(str),
)  # fmt: skip


def wrong(shape: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the keys of `shape`: each kept, dropped, or given any JSON value."""
    fields = {name: st.one_of(st.just(value), JSON, st.just(None)) for name, value in shape.items()}
    return st.fixed_dictionaries({}, optional=fields)


def mostly(value: Any, other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`value` three times in four, else one of `other`."""
    return st.integers(0, 3).flatmap(lambda n: st.just(value) if n else other)


def near(shape: dict[str, Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with every key of `shape`, most values kept and some replaced by `odd` ones."""
    fields = {name: mostly(value, odd) for name, value in shape.items()}
    return st.fixed_dictionaries(fields)


def dumped(values: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return values.map(lambda v: json.dumps(v).encode())


def json_bodies(shape: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Mostly almost right (valid but odd text), else wrong types, random JSON, broken JSON."""
    return st.one_of(
        dumped(near(shape, TEXT)),
        dumped(near(shape, JSON)),
        dumped(wrong(shape)),
        dumped(JSON),
        RAW_JSON,
        st.binary(max_size=200),
    )


# --- headers ------------------------------------------------------------------------------

HEADER_VALUE = st.binary(max_size=100).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"").strip()
)
TOKEN = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20).map(str.encode)
_ODD_HEADERS = st.lists(
    st.tuples(
        st.one_of(
            st.sampled_from(
                [b"Idempotency-Key", b"Accept", b"Content-Type", b"Authorization",
                 b"X-Intake-Signature", b"Transfer-Encoding", b"Content-Encoding", b"Expect"]
            ),
            TOKEN,
        ),
        st.one_of(HEADER_VALUE, st.just(b"\xd1\x8f\xff" * 30), st.just(b"x" * 9000)),
    ),
    max_size=3,
)  # fmt: skip
ODD_HEADERS = mostly([], _ODD_HEADERS)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [b"application/json", b"application/json; charset=utf-8",
         b"application/json; charset=koi8-r", b"application/json; charset=nope", b"text/plain",
         b"", b"application/x-www-form-urlencoded", b"multipart/form-data",
         b"application/json; charset=\xff"]
    ),
    HEADER_VALUE,
)  # fmt: skip


def _signature(body: bytes, draw: Any) -> bytes:
    kind = draw(st.sampled_from(["good"] * 6 + ["stale", "odd", "none"]))
    if kind == "good":
        return sign(SMS_SECRET, body).encode()
    if kind == "stale":
        return sign(SMS_SECRET, body, int(time.time()) - 400).encode()
    if kind == "odd":
        odd: bytes = draw(
            st.one_of(
                HEADER_VALUE,
                st.just(b"t=\xd9\xa3,v1=" + b"a" * 64),
                st.just(b"t=" + b"9" * 5000 + b",v1=00"),
                st.just(b"t=1,v1=" + b"f" * 5000),
                st.just(b"t=1,v1=" + b"f" * 100_000),
                st.just(b"t=+1700000000,v1=" + b"0" * 64),
            )
        )
        return odd
    return b""


# --- routes -------------------------------------------------------------------------------

SMS_SHAPE = {
    "id": "fz-1",
    "from": "+79161234567",
    "to": "+74950000099",
    "text": "hi",
    "received_at": "2024-01-01T00:00:00Z",
}


@st.composite
def sms_requests(draw: Any) -> Request:
    shape = {**SMS_SHAPE, "id": draw(st.uuids()).hex}  # most a new delivery, so stored
    body = draw(json_bodies(shape))
    if draw(st.booleans()):
        body = json.dumps({**shape, "received_at": draw(TIMES)}).encode()
    headers = [(b"Content-Type", draw(mostly(b"application/json", CONTENT_TYPES)))]
    signature = _signature(body, draw)
    if signature:
        headers.append((b"X-Intake-Signature", signature))
    return Request(b"POST", b"/hooks/sms", tuple(headers + draw(ODD_HEADERS)), body)


FORM_SHAPE = {"name": "Fuzz", "email": "fz@example.org", "phone": "+79160000001", "text": "hi"}
CHARSETS = st.sampled_from(
    [b"", b"; charset=utf-8", b"; charset=latin-1", b"; charset=nope", b"; charset=rot13",
     b"; charset=utf-16", b"; charset=idna", b"; charset=base64", b"; charset=\xff"]
)  # fmt: skip


@st.composite
def urlencoded(draw: Any) -> tuple[bytes, bytes]:
    fields = draw(near(FORM_SHAPE, TEXT))
    pairs = list(fields.items()) + draw(st.lists(st.tuples(TEXT, TEXT), max_size=2))
    body = b"&".join(
        k.encode("utf-8", "surrogatepass") + b"=" + v.encode("utf-8", "surrogatepass")
        for k, v in pairs
    )
    body = draw(st.sampled_from([body, b"email=a%40example.org&text=%FF%FE", b"email=%00@x.org"]))
    body = draw(st.one_of(st.just(body), st.binary(max_size=200)))
    return b"application/x-www-form-urlencoded" + draw(CHARSETS), body


PART_HEADERS = st.lists(
    st.sampled_from(
        [b"Content-Type: text/plain; charset=nope", b"Content-Type: text/plain; charset=utf-16",
         b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: quoted-printable",
         b"Content-Transfer-Encoding: x-uuencode", b"Content-Encoding: gzip",
         b"Content-Encoding: deflate", b"Content-Type: \xff\xfe/\xd1\x8f",
         b"Content-Type: text/plain; charset=utf-8", b"Content-Type: image/png"]
    ),
    max_size=2,
)  # fmt: skip
DISPOSITIONS = st.one_of(
    st.sampled_from(['name="email"', 'name="text"', 'name="file"; filename="a.txt"', "", "name=",
                     'name="f"; filename="' + "x" * 5000 + '"', 'name="\x00"',
                     "name=\"f\"; filename*=UTF-8''%FF%FE", 'name="f"; filename="\x00.txt"']),
    st.text(max_size=30).map(lambda t: f'name="{t}"'),
)  # fmt: skip


@st.composite
def multipart(draw: Any) -> tuple[bytes, bytes]:
    boundary = draw(st.sampled_from([b"fzb", b"fzb", b"x" * 5000, b"", b"\xff\xfe", b"a b"]))
    declared = draw(st.sampled_from([boundary, boundary, b"other", None]))
    good = b'Content-Disposition: form-data; name="email"\r\n\r\nfz@example.org\r\n'
    parts = [b"--" + boundary + b"\r\n" + good] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 3))):
        head = [
            b"Content-Disposition: form-data; "
            + draw(DISPOSITIONS).encode("utf-8", "surrogatepass")
        ]
        head += draw(PART_HEADERS)
        value = draw(st.one_of(st.binary(max_size=100), st.just(b"fz@example.org")))
        head = draw(st.sampled_from([head, head[:1]]))  # half of them with no odd part headers
        parts.append(
            b"--" + boundary + b"\r\n" + b"\r\n".join(head) + b"\r\n\r\n" + value + b"\r\n"
        )
    body = b"".join(parts) + draw(st.sampled_from([b"--" + boundary + b"--\r\n", b""]))
    if draw(st.integers(0, 3)) == 0:
        body = body[: draw(st.integers(0, len(body)))]  # truncated
    kind = b"multipart/form-data" + (b"" if declared is None else b"; boundary=" + declared)
    return kind, body


@st.composite
def form_requests(draw: Any) -> Request:
    form = draw(st.sampled_from([b"contact"] * 6 + [b"nope", b"%FF", b"\xd1\x8f"]))
    kind, body = draw(
        st.one_of(
            urlencoded(),
            multipart(),
            st.tuples(st.just(b"application/json"), json_bodies(FORM_SHAPE)),
            st.tuples(CONTENT_TYPES, st.binary(max_size=200)),
        )
    )
    headers = [
        (b"Content-Type", kind),
        (b"Accept", draw(st.sampled_from([b"application/json", b"text/html"]))),
    ]
    return Request(b"POST", b"/forms/" + form, tuple(headers + draw(ODD_HEADERS)), body)


CASE_SHAPE = {
    "contact": {"name": "Fuzz", "phone": "+79160000002", "email": "c@example.org"},
    "service": "support",
    "type": "question",
    "subject": "s",
    "text": "t",
}
ACTIONS: dict[bytes, dict[str, Any]] = {
    b"accept": {"offer_id": "o"},
    b"decline": {},
    b"resolve": {},
    b"resume": {},
    b"pause": {"reason": "r", "until": "2030-01-01T00:00:00Z"},
    b"transfer": {"operator": "boris", "service": "support"},
    b"note": {"text": "n"},
    b"callback": {"kind": "public", "in": "30m", "at": "2030-01-01T00:00:00Z", "note": "n"},
    b"callback/attempt": {"reached": False, "note": "n"},
    b"reply": {"text": "r"},
}
EXPLAIN_SHAPE = {
    "channel": "sms",
    "from": "+79161234567",
    "to": "+74950000010",
    "subject": "s",
    "text": "t",
    "form": "contact",
    "fields": {"topic": "billing"},
    "case_id": 1,
}


def _quoted(value: str) -> bytes:
    from urllib.parse import quote

    return quote(value, safe="").encode()


@st.composite
def api_requests(draw: Any) -> Request:
    token = draw(st.sampled_from([ADMIN, ADMIN, ANNA])).encode()
    route = draw(st.integers(-2, 7))
    method, target, body = b"GET", b"/api/cases", b""
    if route <= 0:
        method, body = b"POST", draw(json_bodies(CASE_SHAPE))
    elif route == 1:
        target += b"/" + _quoted(draw(IDS))
    elif route == 2:
        action = draw(st.sampled_from(sorted(ACTIONS)))
        method, body = b"POST", draw(json_bodies(ACTIONS[action]) | st.just(b""))
        target += b"/" + _quoted(draw(IDS | st.just("1"))) + b"/" + action
    elif route == 3:
        names = st.sampled_from(
            ["limit", "cursor", "status", "service", "assignee", "contact", "sla"]
        )
        query = draw(st.lists(st.tuples(names, IDS | TEXT), max_size=3))
        target += b"?" + b"&".join(_quoted(k) + b"=" + _quoted(v) for k, v in query)
    elif route == 4:
        target = (
            b"/api/contacts?" + draw(st.sampled_from([b"phone=", b"email="])) + _quoted(draw(TEXT))
        )
    elif route == 5:
        method, target = b"PATCH", b"/api/contacts/" + _quoted(draw(TEXT | st.just("c1")))
        body = draw(json_bodies({"owner": "anna", "category": "vip"}))
    elif route == 6:
        method, target = (
            b"PUT",
            b"/api/operators/" + draw(st.sampled_from([b"anna", b"zed", b"%FF"])) + b"/presence",
        )
        body = draw(json_bodies({"presence": "away"}))
    else:
        method, target = b"POST", b"/api/admin/explain"
        body = draw(json_bodies(EXPLAIN_SHAPE))
    headers = [
        (b"Authorization", token),
        (b"Content-Type", draw(CONTENT_TYPES | st.just(b"application/json"))),
    ]
    return Request(method, target, tuple(headers + draw(ODD_HEADERS)), body)


PROVIDER_HOOKS = st.sampled_from(
    [b"/hooks/twilio/sms", b"/hooks/twilio/voice", b"/hooks/twilio/voice/status",
     b"/hooks/mango/events/call", b"/hooks/mango/events/summary", b"/hooks/twilio/sms/status"]
)  # fmt: skip
FORM_FIELDS = st.sampled_from(
    ["MessageSid", "CallSid", "From", "To", "Body", "NumMedia", "MediaUrl0", "CallStatus",
     "DialCallStatus", "vpbx_api_key", "sign", "json", "MessageStatus", "ErrorCode"]
)  # fmt: skip


@st.composite
def provider_requests(draw: Any) -> Request:
    """Twilio's and Mango's form posts: random fields, values, bytes and signatures."""
    fields = draw(st.lists(st.tuples(FORM_FIELDS, TEXT), max_size=6))
    body = b"&".join(_quoted(k) + b"=" + _quoted(v) for k, v in fields)
    body = draw(st.just(body) | st.binary(max_size=300))
    headers = [
        (b"Content-Type", draw(mostly(b"application/x-www-form-urlencoded", CONTENT_TYPES))),
        (b"X-Twilio-Signature", draw(st.sampled_from([b"", b"bm9wZQ==", b"\xff" * 40]))),
    ]
    return Request(b"POST", draw(PROVIDER_HOOKS), tuple(headers + draw(ODD_HEADERS)), body)


@st.composite
def raw_requests(draw: Any) -> Request:
    """What aiohttp's parser refuses: bad methods, huge or non-ASCII request lines and headers."""
    method = draw(st.sampled_from([b"GET", b"POST", b"BREW", b"G\xffT", b"", b"GET GET", b"PRI"]))
    target = draw(
        st.sampled_from(
            [b"/api/cases", b"/" + b"a" * 20_000, b"/\xd1\x8f", b"*", b"http://x/", b"", b"/a b"]
        )
    )
    headers = draw(
        st.sampled_from(
            [(), ((b"X-Long", b"v" * 20_000),), ((b"Bad Name", b"v"),), ((b"X", b"\x00"),),
             tuple((b"X-%d" % i, b"v") for i in range(200)),
             ((b"Transfer-Encoding", b"chunked, gzip"),)]
        )
    )  # fmt: skip
    return Request(method, target, headers, draw(st.binary(max_size=50)))


ALL = st.one_of(sms_requests(), form_requests(), api_requests(), raw_requests())
