"""Generic softphone/PBX events (SPEC §5): parsed from the raw body, every wrong field named."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels import signature
from channels.phone.events import PhoneEvent, parse
from channels.rejection import Rejected
from channels.settings import Secret
from gateway.http.errors import status_of

NOW = 1_790_000_000.0  # 2026-09-21


def raw(**fields: Any) -> bytes:
    event = {
        "id": "evt-1",
        "event": "ringing",
        "call_id": "call-77",
        "from": "8 (916) 123-45-67",
        "to": "+7 495 000-00-00",
    }
    event.update(fields)
    return json.dumps({k: v for k, v in event.items() if v is not ...}).encode()


def event(**fields: Any) -> PhoneEvent:
    return parse(raw(**fields), "RU", now=NOW)


def test_ringing_with_numbers_in_any_format() -> None:
    got = event()
    assert (got.id, got.event, got.call_id, got.caller, got.to) == (
        "evt-1",
        "ringing",
        "call-77",
        "+79161234567",
        "+74950000000",
    )
    assert (got.operator, got.duration, got.recording_url, got.at) == ("", None, "", None)
    assert not got.caller_withheld and got.direction == "in"


def test_a_signed_body_is_parsed_after_its_signature() -> None:
    body = raw(event="ended", duration=95.5, recording_url="https://pbx.example.com/r/1.mp3")
    secret = Secret("sample-phone-secret")
    signature.verify(secret, signature.sign("sample-phone-secret", body), body)
    got = parse(body, "RU", now=NOW)
    assert (got.event, got.duration, got.recording_url) == (
        "ended",
        95.5,
        "https://pbx.example.com/r/1.mp3",
    )


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-09-01T10:00:00Z", 1788256800.0),
        ("2026-09-01T13:00:00.250+03:00", 1788256800.25),
        ("2026-09-01t10:00:00z", 1788256800.0),
        (1788256800, 1788256800.0),
        (1788256800.5, 1788256800.5),
        (NOW + 86000, NOW + 86000),
    ],
)
def test_at_is_rfc3339_or_unix_seconds(at: object, expected: float) -> None:
    assert event(at=at).at == expected


def test_provider_ids_may_be_integers_and_operators_are_named() -> None:
    got = event(id=123456, event="answered", operator="anna", call_id=9)
    assert (got.id, got.call_id, got.operator) == ("123456", "9", "anna")
    assert event(event="transferred", operator="boris").operator == "boris"


@pytest.mark.parametrize("caller", ["anonymous", "Restricted", "", None, "+266696687"])
def test_withheld_callers_carry_no_number(caller: object) -> None:
    got = event(**{"from": caller})
    assert (got.caller, got.caller_withheld) == ("", True)


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"id": ...}, "missing_field", "id"),
        ({"id": ""}, "missing_field", "id"),
        ({"id": True}, "invalid_field", "id"),
        ({"id": ["a"]}, "invalid_field", "id"),
        ({"event": ...}, "missing_field", "event"),
        ({"event": "exploded"}, "invalid_field", "event"),
        ({"event": 1}, "invalid_field", "event"),
        ({"call_id": ...}, "missing_field", "call_id"),
        ({"call_id": {"x": 1}}, "invalid_field", "call_id"),
        ({"from": 7.5}, "invalid_field", "from"),
        ({"from": "\ud800"}, "invalid_field", "from"),
        ({"to": ...}, "missing_field", "to"),
        ({"to": "+7\x00495"}, "invalid_field", "to"),
        ({"event": "answered"}, "missing_field", "operator"),
        ({"event": "transferred", "operator": ""}, "missing_field", "operator"),
        ({"operator": 5.0}, "invalid_field", "operator"),
        ({"duration": -1}, "invalid_field", "duration"),
        ({"duration": "60"}, "invalid_field", "duration"),
        ({"duration": True}, "invalid_field", "duration"),
        ({"duration": 10**400}, "invalid_field", "duration"),
        ({"recording_url": "ftp://pbx/r.mp3"}, "invalid_field", "recording_url"),
        ({"recording_url": "javascript:alert(1)"}, "invalid_field", "recording_url"),
        ({"recording_url": "https:///nohost"}, "invalid_field", "recording_url"),
        ({"recording_url": 5}, "invalid_field", "recording_url"),
        ({"at": "2026-09-01"}, "invalid_field", "at"),
        ({"at": "2026-09-01T10:00:00"}, "invalid_field", "at"),
        ({"at": "2026-02-30T10:00:00Z"}, "invalid_field", "at"),
        ({"at": "yesterday"}, "invalid_field", "at"),
        ({"at": 946684799}, "invalid_field", "at"),
        ({"at": NOW + 86401}, "invalid_field", "at"),
        ({"at": False}, "invalid_field", "at"),
        ({"at": ["2026-09-01T10:00:00Z"]}, "invalid_field", "at"),
    ],
)
def test_a_wrong_field_is_named(fields: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(Rejected) as caught:
        event(**fields)
    assert (caught.value.code, caught.value.field, status_of(caught.value)) == (code, field, 422)


@pytest.mark.parametrize(
    "body", [b"", b"[]", b'"ringing"', b"{", b"\xff\xfe{}", b"NaN", b'{"id": NaN}', b"[" * 100_000]
)
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(Rejected) as caught:
        parse(body, "RU")
    assert status_of(caught.value) in (400, 422)


def test_non_finite_numbers_never_pass() -> None:
    for body in (b'{"duration": Infinity}', b'{"at": -Infinity}'):
        with pytest.raises(Rejected):
            parse(raw()[:-1] + b"," + body[1:], "RU")


def test_the_window_follows_the_clock() -> None:
    assert parse(raw(at=time.time() + 3600), "RU").at is not None


@given(st.binary(max_size=200))
def test_random_bytes_raise_nothing_but_rejected(body: bytes) -> None:
    with contextlib.suppress(Rejected):
        parse(body, "RU")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)
KEYS = ["id", "event", "call_id", "from", "to", "operator", "duration", "recording_url", "at"]


@given(st.dictionaries(st.sampled_from(KEYS), JSON | st.sampled_from(["ringing", "answered"])))
def test_random_objects_raise_nothing_but_rejected(fields: dict[str, Any]) -> None:
    with contextlib.suppress(Rejected):
        parse(json.dumps(fields).encode(), "RU")
