"""Phone calls: one provider event in, the call's course and its case moved on in one Redis step.

Every provider (generic PBX API, Twilio Voice, Mango Office) maps its callbacks onto a
`CallStep`; routing/lua/calls.lua finds or opens the case through intake's threading
(`service`: the contact's newest unresolved case in the routed service) in the same step.
A withheld caller ID arrives as an empty number: the step then opens a fresh contact with no
number (an anonymous contact per call), which nothing can ever match again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from channels import fastjson
from channels.message import InboundMessage
from gateway.config import Config
from gateway.intake import Intake
from gateway.views import CASE_FIELDS
from routing.keys import DEDUPE_TTL
from routing.rules import decide
from routing.scripts import Scripts

Step = Literal["ringing", "answered", "transferred", "declined", "completed", "ended", "missed"]


@dataclass(frozen=True)
class CallStep:
    provider: str  # the call ids' namespace: "phone", "twilio", "mango"
    delivery_id: str  # the provider's id for this delivery: a repeat changes nothing
    call_id: str
    step: Step
    caller: str  # E.164 (or as given), "" when withheld
    to: str = ""
    operator: str = ""  # an operator id, "" when the provider names none
    duration: float | None = None
    recording_url: str = ""
    direction: Literal["in", "out"] = "in"
    callback_when_nobody: bool = False  # voicemail answers at once: flag the case now
    screen_pop: bool = False  # read the contact and its open cases in the same step


@dataclass(frozen=True)
class CallOutcome:
    call_id: str
    case_id: int
    contact_id: str
    route_to: str | None  # the operator being rung
    status: str
    assignee: str | None
    callback: bool
    contact: dict[str, str] = field(default_factory=dict)  # stored fields, with screen_pop
    open_cases: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # newest first


async def apply(scripts: Scripts, config: Config, step: CallStep) -> CallOutcome:
    """Move the call on by `step`; the same delivery twice gets the same outcome."""
    message = InboundMessage(
        channel="phone",
        dedupe_scope="phone",
        delivery_id=None,
        sender_phone=step.caller,
        to=step.to,
        threading="service",
    )
    # The call's case is found once, by the first event that arrives; rules see the call.
    now_ms = int(time.time() * 1000)
    payload = Intake._payload(config, message, decide(config.routing, message), now_ms)
    result = await scripts.call_event(now_ms, payload, _event(step))
    pop = result.get("pop") or {}
    return CallOutcome(
        result["call_id"],
        result["case_id"],
        result["contact_id"],
        result["route_to"],
        result["status"],
        result["assignee"],
        result["callback"],
        _fields(pop.get("contact")),
        [(case_id, _values(values)) for case_id, values in pop.get("open") or []],
    )


def _fields(flat: Any) -> dict[str, str]:
    """A hash as Lua's HGETALL gives it, `[k, v, ...]` (an empty one JSON-encodes as {})."""
    return dict(zip(flat[::2], flat[1::2], strict=True)) if isinstance(flat, list) else {}


def _values(values: list[Any]) -> dict[str, str]:
    """HMGET's reply for views.CASE_FIELDS (false where a field is absent) as a hash."""
    return {name: v for name, v in zip(CASE_FIELDS, values, strict=True) if isinstance(v, str)}


def _event(step: CallStep) -> str:
    return fastjson.dumps(
        {
            "prov": step.provider,
            "call": step.call_id,
            "ev": step.step,
            "scope": f"call:{step.provider}",
            "did": step.delivery_id,
            "ttl": DEDUPE_TTL,
            "op": step.operator,
            "dur": "" if step.duration is None else str(round(step.duration)),
            "rec": step.recording_url,
            "d": step.direction,
            "f": step.caller,
            "t": step.to,
            "cbn": step.callback_when_nobody,
            "pop": step.screen_pop,
            "pf": CASE_FIELDS if step.screen_pop else [],
        }
    )
