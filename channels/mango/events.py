"""Mango Office `/events/call` and `/events/summary` payloads, mapped onto the generic call
lifecycle (channels.phone.events.PhoneEvent) so one intake path serves both.

`entry_id` groups every leg of one call and becomes the lifecycle's `call_id`. Appeared →
ringing; Connected at an employee → answered by that extension; Disconnected at an employee →
ended (a leg leaving the IVR or a queue is not the end of the call); OnHold changes nothing.
The summary closes the call: ended with the talk time, or missed when nobody talked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from channels import validate
from channels.callerid import is_withheld
from channels.phone.events import PhoneEvent, json_object
from channels.phones import normalize
from channels.rejection import invalid, missing

CallState = Literal["Appeared", "Connected", "OnHold", "Disconnected"]
CALL_STATES: tuple[CallState, ...] = ("Appeared", "Connected", "OnHold", "Disconnected")
EMPLOYEE = "abonent"  # Mango's `location` of a leg ringing or talking at an employee
MAX_INT = 2**53


@dataclass(frozen=True)
class Party:
    number: str  # as Mango sent it
    extension: str
    line_number: str

    @property
    def external(self) -> bool:
        return not self.extension


@dataclass(frozen=True)
class CallEvent:
    entry_id: str
    call_id: str
    timestamp: float
    seq: int
    call_state: CallState
    location: str
    caller: Party
    callee: Party
    disconnect_reason: str


@dataclass(frozen=True)
class Summary:
    entry_id: str
    call_direction: int
    caller: Party
    callee: Party
    line_number: str
    create_time: float
    forward_time: float | None
    talk_time: float | None  # when talk began; Mango writes 0 for a call nobody answered
    end_time: float
    entry_result: int
    disconnect_reason: str

    @property
    def talk_seconds(self) -> float:
        return max(self.end_time - self.talk_time, 0.0) if self.talk_time else 0.0


def parse_call(json_text: str, now: float | None = None) -> CallEvent:
    body = json_object(json_text)
    return CallEvent(
        entry_id=validate.provider_text(body.get("entry_id"), "entry_id"),
        call_id=validate.provider_text(body.get("call_id"), "call_id"),
        timestamp=_moment(body.get("timestamp"), "timestamp", now),
        seq=_integer(body.get("seq"), "seq"),
        call_state=_state(body.get("call_state")),
        location=validate.provider_text(
            body.get("location"), "location", required=False, max_len=64
        ),
        caller=_party(body.get("from"), "from"),
        callee=_party(body.get("to"), "to"),
        disconnect_reason=validate.provider_text(
            body.get("disconnect_reason"), "disconnect_reason", required=False
        ),
    )


def parse_summary(json_text: str, now: float | None = None) -> Summary:
    body = json_object(json_text)
    talk = _integer(body.get("talk_time", 0), "talk_time")
    forward = _integer(body.get("forward_time", 0), "forward_time")
    return Summary(
        entry_id=validate.provider_text(body.get("entry_id"), "entry_id"),
        call_direction=_integer(body.get("call_direction", 0), "call_direction"),
        caller=_party(body.get("from"), "from"),
        callee=_party(body.get("to"), "to"),
        line_number=validate.provider_text(body.get("line_number"), "line_number", required=False),
        create_time=_moment(body.get("create_time"), "create_time", now),
        forward_time=_moment(forward, "forward_time", now) if forward else None,
        talk_time=_moment(talk, "talk_time", now) if talk else None,
        end_time=_moment(body.get("end_time"), "end_time", now),
        entry_result=_integer(body.get("entry_result", 0), "entry_result"),
        disconnect_reason=validate.provider_text(
            body.get("disconnect_reason"), "disconnect_reason", required=False
        ),
    )


def call_lifecycle(event: CallEvent, region: str) -> PhoneEvent | None:
    """The generic event for one Mango call event, or None when the call's course is unchanged."""
    at_employee = event.location == EMPLOYEE
    if event.call_state == "Appeared":
        kind: Literal["ringing", "answered", "ended"] = "ringing"
    elif event.call_state == "Connected" and at_employee:
        kind = "answered"
    elif event.call_state == "Disconnected" and at_employee:
        kind = "ended"
    else:
        return None
    delivery = f"mango/{event.entry_id}/{event.call_id}/{event.seq}/{event.call_state}"
    return _lifecycle(
        delivery, kind, event.entry_id, event.caller, event.callee, region, event.timestamp
    )


def summary_lifecycle(summary: Summary, region: str) -> PhoneEvent:
    """`ended` with the talk time when someone talked, else `missed`."""
    answered = summary.talk_time is not None or summary.entry_result == 1
    kind: Literal["ended", "missed"] = "ended" if answered else "missed"
    return _lifecycle(
        f"mango/{summary.entry_id}/summary",
        kind,
        summary.entry_id,
        summary.caller,
        summary.callee,
        region,
        summary.end_time,
        line=summary.line_number,
        duration=summary.talk_seconds,
    )


def _lifecycle(
    delivery: str,
    kind: Literal["ringing", "answered", "ended", "missed"],
    entry_id: str,
    caller: Party,
    callee: Party,
    region: str,
    at: float,
    *,
    line: str = "",
    duration: float | None = None,
) -> PhoneEvent:
    """`line` is the number dialled when the event carries it apart from the parties."""
    # The customer is the side without an extension: the caller of an incoming call, the
    # callee of an employee's outgoing one.
    inbound = caller.external
    customer, employee = (caller, callee) if inbound else (callee, caller)
    withheld = is_withheld(customer.number)
    return PhoneEvent(
        id=delivery,
        event=kind,
        call_id=entry_id,
        caller="" if withheld else normalize(customer.number, region),
        caller_raw=customer.number,
        caller_withheld=withheld,
        to=normalize(line or employee.line_number or employee.number, region),
        operator=employee.extension,
        duration=duration,
        recording_url="",
        at=at,
        direction="in" if inbound else "out",
    )


def _party(value: object, field: str) -> Party:
    if value is None:
        return Party("", "", "")
    if not isinstance(value, dict):
        raise invalid(field, f"'{field}' must be an object with 'number' and/or 'extension'.")
    return Party(
        number=validate.provider_text(
            value.get("number"), f"{field}.number", required=False, max_len=128
        ),
        extension=validate.provider_text(
            value.get("extension"), f"{field}.extension", required=False
        ),
        line_number=validate.provider_text(
            value.get("line_number"), f"{field}.line_number", required=False, max_len=128
        ),
    )


def _state(value: object) -> CallState:
    if value is None or value == "":
        raise missing("call_state")
    if value not in CALL_STATES:
        raise invalid("call_state", f"'call_state' must be one of {', '.join(CALL_STATES)}.")
    return value


def _integer(value: object, field: str) -> int:
    """A non-negative integer; Mango writes many as decimal strings ("seq": "1")."""
    if value is None or value == "":
        raise missing(field)
    if isinstance(value, str) and value.isascii() and value.isdecimal() and len(value) <= 16:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise invalid(field, f"'{field}' must be a non-negative whole number.")
    return value


def _moment(value: object, field: str, now: float | None) -> float:
    return validate.moment(_integer(value, field), field, now)
