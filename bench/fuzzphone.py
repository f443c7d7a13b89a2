"""Fuzz requests for the call hooks (bench/fuzzcases.py's building blocks): `POST /hooks/phone`."""

from __future__ import annotations

import json
import time
from typing import Any

from hypothesis import strategies as st

from bench.fuzzcases import CONTENT_TYPES, ODD_HEADERS, TIMES, Request, json_bodies, mostly
from channels.signature import sign

PHONE_SECRET = "sample-phone-secret"  # [channels.phone].secret of the sample config
EVENTS = st.sampled_from(
    ["ringing", "answered", "ended", "missed", "transferred"] * 3 + ["rang", ""]
)
OPERATORS = st.sampled_from(["anna", "boris", "nobody", "", "ANNA"])


@st.composite
def phone_requests(draw: Any) -> Request:
    """Mostly well-signed events of a few calls, so that lifecycles really run; some wrong."""
    shape = {
        "id": draw(st.uuids()).hex,
        "event": draw(EVENTS),
        "call_id": draw(st.sampled_from(["call-1", "call-2", "call-3"])),
        "from": draw(st.sampled_from(["+79161234567", "8 916 123-45-67", "anonymous", ""])),
        "to": "+74950000010",
        "operator": draw(OPERATORS),
        "duration": draw(mostly(30, st.one_of(st.integers(-5, 10**9), st.floats(), st.just("12")))),
        "recording_url": draw(mostly("https://pbx.example.com/r.mp3", st.just("ftp://x"))),
    }
    body = json.dumps(shape).encode() if draw(st.booleans()) else draw(json_bodies(shape))
    if draw(st.booleans()):
        body = json.dumps({**shape, "at": draw(TIMES)}, default=str).encode()
    headers = [(b"Content-Type", draw(mostly(b"application/json", CONTENT_TYPES)))]
    stale = draw(st.sampled_from([0] * 8 + [400]))
    if draw(st.sampled_from([True] * 9 + [False])):
        signature = sign(PHONE_SECRET, body, int(time.time()) - stale).encode()
        headers.append((b"X-Intake-Signature", signature))
    return Request(b"POST", b"/hooks/phone", tuple(headers + draw(ODD_HEADERS)), body)
