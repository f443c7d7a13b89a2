"""Mango Office callbacks: signed as Mango signs them, mapped onto the generic call lifecycle.

The payloads follow the examples of Mango's VPBX API reference (v1.9): `timestamp` and `seq`
arrive as strings, `from`/`to` are objects with `number`, `extension`, `line_number`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.mango import events, sign
from channels.rejection import Rejected
from channels.urlencoded import parse_form
from gateway.http.errors import status_of

KEY = "hx5rqm8b2z0cz0o3a0n7kx8ynl0x4l1w"
SALT = "l3xa5ui7f3bz0ss8mlqg1p8ywkwyw2ji"
NOW = 1_790_000_000.0
ENTRY = "MjQ5MzQ2OTk0Mjo1MDE="
CALL = "MToxMDA1NzU5Mzo1MDI6NjI1ODM4MzQ="
LINE = "74951234567"


def call_payload(seq: int, state: str, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "entry_id": ENTRY,
        "call_id": CALL,
        "timestamp": str(1_789_990_000 + seq * 7),
        "seq": str(seq),
        "call_state": state,
        "location": "abonent",
        "from": {"number": "79161234567"},
        "to": {"extension": "101", "number": "sip:anna@vpbx400123456.mangosip.ru"}
        | {"line_number": LINE},
    }
    payload.update(extra)
    return payload


def posted(payload: dict[str, Any], *, key: str = KEY, salt: str = SALT) -> bytes:
    """The urlencoded body Mango posts: the JSON text, its key, and the sign over both."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256((key + text + salt).encode()).hexdigest()
    return urlencode({"vpbx_api_key": key, "sign": digest, "json": text}).encode()


def received(body: bytes) -> str:
    return sign.verify(parse_form(body), KEY, SALT)


def test_signed_appeared_connected_disconnected_is_one_call() -> None:
    lifecycle = []
    for seq, state in enumerate(["Appeared", "Connected", "Disconnected"], start=1):
        extra = {"disconnect_reason": "1110"} if state == "Disconnected" else {}
        event = events.parse_call(received(posted(call_payload(seq, state, **extra))), NOW)
        lifecycle.append(events.call_lifecycle(event, "RU"))
    assert [e.event for e in lifecycle if e] == ["ringing", "answered", "ended"]
    assert {e.call_id for e in lifecycle if e} == {ENTRY}
    assert len({e.id for e in lifecycle if e}) == 3
    ringing, answered, _ = lifecycle
    assert ringing and answered
    assert (ringing.caller, ringing.to, ringing.direction) == ("+79161234567", "+74951234567", "in")
    assert answered.operator == "101"
    assert answered.at == 1_789_990_014.0


def test_a_repeated_delivery_has_the_same_id() -> None:
    first = events.call_lifecycle(
        events.parse_call(received(posted(call_payload(1, "Appeared")))), "RU"
    )
    again = events.call_lifecycle(
        events.parse_call(received(posted(call_payload(1, "Appeared")))), "RU"
    )
    assert first is not None and first == again


@pytest.mark.parametrize(
    ("state", "location"),
    [("OnHold", "abonent"), ("Disconnected", "ivr"), ("Connected", "queue")],
)
def test_legs_that_do_not_change_the_call(state: str, location: str) -> None:
    event = events.parse_call(received(posted(call_payload(2, state, location=location))), NOW)
    assert events.call_lifecycle(event, "RU") is None


def test_an_employee_calling_out_makes_the_callee_the_customer() -> None:
    payload = call_payload(
        1, "Connected", **{"from": {"extension": "1234", "number": "74955404444"}}
    )
    payload["to"] = {"number": "89031234567"}
    event = events.call_lifecycle(events.parse_call(received(posted(payload)), NOW), "RU")
    assert event is not None
    assert (event.caller, event.operator, event.to, event.direction) == (
        "+79031234567",
        "1234",
        "+74955404444",
        "out",
    )


def summary_payload(**extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "entry_id": ENTRY,
        "call_direction": 1,
        "from": {"number": "79161234567"},
        "to": {"extension": "101", "number": "sip:anna@vpbx400123456.mangosip.ru"},
        "line_number": LINE,
        "create_time": 1_789_990_000,
        "forward_time": 1_789_990_002,
        "talk_time": 1_789_990_010,
        "end_time": 1_789_990_105,
        "entry_result": 1,
        "disconnect_reason": 1110,
    }
    payload.update(extra)
    return payload


def test_summary_ends_the_call_with_its_talk_time() -> None:
    summary = events.parse_summary(received(posted(summary_payload())), NOW)
    assert (summary.talk_seconds, summary.disconnect_reason) == (95.0, "1110")
    event = events.summary_lifecycle(summary, "RU")
    assert (event.event, event.call_id, event.duration, event.operator) == (
        "ended",
        ENTRY,
        95.0,
        "101",
    )
    assert (event.id, event.caller, event.to) == (
        f"mango/{ENTRY}/summary",
        "+79161234567",
        "+74951234567",
    )


def test_a_summary_nobody_talked_in_is_missed() -> None:
    payload = summary_payload(talk_time=0, entry_result=0, forward_time=0)
    summary = events.parse_summary(received(posted(payload)), NOW)
    assert (summary.talk_time, summary.forward_time) == (None, None)
    event = events.summary_lifecycle(summary, "RU")
    assert (event.event, event.duration) == ("missed", 0.0)


def test_a_withheld_caller_stays_anonymous() -> None:
    payload = call_payload(1, "Appeared", **{"from": {"number": "anonymous"}})
    event = events.call_lifecycle(events.parse_call(received(posted(payload)), NOW), "RU")
    assert event is not None and (event.caller, event.caller_withheld) == ("", True)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (posted(call_payload(1, "Appeared"), salt="wrong-salt"), "bad_signature"),
        (posted(call_payload(1, "Appeared"), key="other-key"), "bad_signature"),
        (posted(call_payload(1, "Appeared")).replace(b"Appeared", b"Connected"), "bad_signature"),
        (urlencode({"vpbx_api_key": KEY, "json": "{}"}).encode(), "missing_signature"),
        (
            urlencode({"vpbx_api_key": KEY, "sign": "\u00e9" * 64, "json": "{}"}).encode(),
            "bad_signature",
        ),
        (urlencode({"sign": "0" * 64, "json": "{}"}).encode(), "missing_signature"),
    ],
)
def test_a_bad_sign_is_rejected(body: bytes, code: str) -> None:
    with pytest.raises(Rejected) as caught:
        received(body)
    assert (caught.value.code, status_of(caught.value)) == (code, 401)


def test_upper_case_hex_is_the_same_sign_and_no_salt_disables() -> None:
    text = json.dumps(call_payload(1, "Appeared"))
    form = parse_form(
        urlencode(
            {"vpbx_api_key": KEY, "sign": sign.sign(KEY, text, SALT).upper(), "json": text}
        ).encode()
    )
    assert sign.verify(form, KEY, SALT) == text
    with pytest.raises(Rejected) as caught:
        sign.verify(form, KEY, "")
    assert caught.value.code == "webhook_disabled"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"entry_id": None}, "missing_field", "entry_id"),
        ({"call_state": "Ringing"}, "invalid_field", "call_state"),
        ({"seq": "-1"}, "invalid_field", "seq"),
        ({"seq": 1.5}, "invalid_field", "seq"),
        ({"timestamp": "1e9"}, "invalid_field", "timestamp"),
        ({"timestamp": "900000000"}, "invalid_field", "timestamp"),
        ({"timestamp": str(int(NOW) + 2 * 86400)}, "invalid_field", "timestamp"),
        ({"from": "79161234567"}, "invalid_field", "from"),
        ({"to": {"extension": ["101"]}}, "invalid_field", "to.extension"),
    ],
)
def test_call_field_errors_name_the_field(change: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(Rejected) as caught:
        events.parse_call(json.dumps(call_payload(1, "Appeared") | change), NOW)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_summary_field_errors_name_the_field() -> None:
    with pytest.raises(Rejected) as caught:
        events.parse_summary(json.dumps(summary_payload(end_time=True)), NOW)
    assert caught.value.field == "end_time"


@given(st.binary(max_size=300))
def test_random_bodies_raise_nothing_but_rejected(body: bytes) -> None:
    with contextlib.suppress(Rejected):
        received(body)


@given(st.text(max_size=200))
def test_random_json_text_raises_nothing_but_rejected(text: str) -> None:
    for parse in (events.parse_call, events.parse_summary):
        with contextlib.suppress(Rejected):
            parse(text, NOW)


FIELD = st.sampled_from(["entry_id", "call_id", "timestamp", "seq", "call_state", "from", "to"])
VALUE = (
    st.none()
    | st.integers()
    | st.text(max_size=12)
    | st.dictionaries(
        st.sampled_from(["number", "extension"]), st.integers() | st.text(max_size=12)
    )
)


@given(st.dictionaries(FIELD, VALUE))
def test_random_payloads_raise_nothing_but_rejected(change: dict[str, Any]) -> None:
    for payload in (call_payload(1, "Appeared") | change, summary_payload() | change):
        for parse in (events.parse_call, events.parse_summary):
            with contextlib.suppress(Rejected):
                parse(json.dumps(payload), NOW)


def test_a_lone_surrogate_is_an_invalid_field() -> None:
    text = json.dumps(call_payload(1, "Appeared"), ensure_ascii=False).replace(ENTRY, "\ud800")
    with pytest.raises(Rejected) as caught:
        events.parse_call(text, NOW)
    assert (caught.value.code, caught.value.field) == ("invalid_field", "entry_id")
