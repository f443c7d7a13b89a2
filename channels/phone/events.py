"""Generic softphone/PBX events (SPEC §5) parsed from the raw JSON body of `POST /hooks/phone`.

`{"id", "event", "call_id", "from", "to", "operator"?, "duration"?, "recording_url"?, "at"?}`;
the signature (`X-Intake-Signature`) is checked before, by channels.signature.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, cast

from channels import fastjson, schema, validate
from channels.callerid import is_withheld
from channels.phone.body import Event, PhoneBody
from channels.phones import normalize
from channels.rejection import Rejected, missing

EVENTS: tuple[Event, ...] = ("ringing", "answered", "ended", "missed", "transferred")
NEEDS_OPERATOR = frozenset({"answered", "transferred"})  # who picked up, who it went to


@dataclass(frozen=True)
class PhoneEvent:
    id: str
    event: Event
    call_id: str
    caller: str  # E.164 when parseable, as given otherwise, "" when withheld
    caller_raw: str
    caller_withheld: bool
    to: str
    operator: str
    duration: float | None
    recording_url: str
    at: float | None
    direction: Literal["in", "out"] = "in"  # "out": an employee called the customer


def parse(raw: bytes, region: str, now: float | None = None) -> PhoneEvent:
    """The event in `raw`, or `Rejected` naming the first wrong field."""
    body = schema.decode(raw, PhoneBody, json_object)
    event = body.event
    caller = validate.provider_text(body.caller, "from", required=False, max_len=128)
    withheld = is_withheld(caller)
    operator = validate.provider_text(body.operator, "operator", required=False)
    if event in NEEDS_OPERATOR and not operator:
        raise missing("operator")
    return PhoneEvent(
        id=validate.provider_text(body.id, "id"),
        event=event,
        call_id=validate.provider_text(body.call_id, "call_id"),
        caller="" if withheld else normalize(caller, region),
        caller_raw=caller,
        caller_withheld=withheld,
        to=normalize(validate.provider_text(body.to, "to", max_len=128), region),
        operator=operator,
        duration=_duration(body.duration),
        recording_url=_recording(body.recording_url),
        at=None if body.at is None else validate.moment(body.at, "at", now),
    )


def json_object(raw: bytes | str) -> dict[str, Any]:
    try:
        body = fastjson.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        body = _lenient(raw)
    if not isinstance(body, dict):
        raise Rejected("malformed_request", "The body must be a JSON object.")
    return cast(dict[str, Any], body)


def _lenient(raw: bytes | str) -> Any:
    # orjson refuses a lone surrogate outright; the standard library keeps it, so the field
    # holding it can be named (SPEC: 422, not 400).
    try:
        return json.loads(raw if isinstance(raw, str) else raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise Rejected("malformed_request", "The body is not valid JSON.") from None


def _duration(value: object) -> float | None:
    return None if value is None else validate.duration(value, "duration")


def _recording(value: object) -> str:
    return "" if value is None or value == "" else validate.http_url(value, "recording_url")
