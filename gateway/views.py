"""Redis hashes and timeline entries rendered as the JSON shapes of SPEC section 4."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

from routing import timeline

STATUSES = ("queued", "assigned", "in_progress", "waiting", "resolved", "classifying", "returned")
SLA_CLOCKS = (("rd", "reaction"), ("sd", "resolution"))  # due field -> name in `breached`
# The case hash fields `case_json` reads, the status first (the screen pop reads only these).
CASE_FIELDS = ("st", "ch", "sv", "ty", "pr", "sj", "as", "of", "oe", "ca", "aa", "ra", "rd", "sd",
               "rc", "fl", "sx", "pt", "sc", "th", "su", "pd", "cf", "cb")  # fmt: skip


def text(value: Any) -> str:
    """A Redis reply (bytes from this client) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def decoded(fields: Any) -> dict[str, str]:
    """A Redis hash reply as a dict of text."""
    return {text(k): text(v) for k, v in dict(fields).items()}


def rfc3339(ms: Any) -> str | None:
    """Milliseconds as RFC 3339; a value no time can be read from is shown as unknown (null)."""
    if ms is None or ms == "":  # most cases' unset times: no exception raised for them
        return None
    try:
        # whole seconds and milliseconds apart: ms / 1000 as a float turned ...999 into .998
        seconds, millis = divmod(_whole(ms), 1000)
        day = _day(seconds // 86400)
    except (TypeError, ValueError, OverflowError, OSError):  # "nan", 1e300, year 0
        return None
    second = seconds % 86400
    clock = f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
    return f"{day}T{clock}.{millis:03d}Z"


def _whole(ms: Any) -> int:
    """Stored times are integer strings; anything float() reads is accepted too."""
    try:
        return int(ms)
    except ValueError:
        return int(float(ms))


@functools.lru_cache(maxsize=4096)
def _day(days: int) -> str:
    """The UTC date `days` after the epoch (a screen pop shows a few hundred times, few days)."""
    moment = datetime.fromtimestamp(days * 86400, tz=UTC)
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"


def _strings(raw: str | None) -> list[str]:
    """A stored JSON list of strings (phones, e-mails); anything else reads as empty."""
    try:
        found = json.loads(raw or "[]")
    except ValueError:
        return []
    return [item for item in found if isinstance(item, str)] if isinstance(found, list) else []


def contact_json(contact_id: str, fields: dict[str, str]) -> dict[str, Any]:
    return {
        "id": contact_id,
        "name": fields.get("n") or None,
        "phones": _strings(fields.get("ph")),
        "emails": _strings(fields.get("em")),
        "owner": fields.get("ow") or None,
        "category": fields.get("cg") or None,
    }


def integer(value: Any) -> int | None:
    """A stored integer (priority, case id); None when absent or unreadable."""
    if value is None:  # most cases' related case and paused time: no exception raised
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def default_subject(contact: dict[str, Any], service_name: str) -> str:
    """`<contact name or number> (<service name>)`, from the contact as it is now."""
    who = contact.get("name") or next(
        iter(contact.get("phones") or contact.get("emails") or []), ""
    )
    return f"{who} ({service_name})"


def case_json(
    case_id: int, f: dict[str, str], contact: dict[str, Any], service_name: str
) -> dict[str, Any]:
    offer = None
    if f.get("of"):
        offer = {"offer_id": f["of"], "operator": f.get("as"), "expires_at": rfc3339(f.get("oe"))}
    return {
        "id": case_id,
        "status": f.get("st"),
        "channel": f.get("ch"),
        "service": f.get("sv"),
        "type": f.get("ty"),
        "priority": integer(f.get("pr")),
        "subject": f.get("sj") or default_subject(contact, service_name),
        "contact": contact,
        "assignee": f.get("as") or None,
        "offer": offer,
        "created_at": rfc3339(f.get("ca")),
        "accepted_at": rfc3339(f.get("aa")),
        "resolved_at": rfc3339(f.get("ra")),
        "sla": _sla(f),
        "related_case": integer(f.get("rc")),
        "flags": [flag for flag in f.get("fl", "").split(",") if flag],
        "theme": f.get("th") or None,
        "subtheme": f.get("su") or None,
        "product": f.get("pd") or None,
        "fields": _json_object(f.get("cf") or "{}") or {},
        "created_by": f.get("cb") or f.get("ch"),  # an operator id, or the channel
    }


def _sla(f: dict[str, str]) -> dict[str, Any]:
    fired = f.get("sx", "").split()
    return {
        "reaction_due": rfc3339(f.get("rd")),
        "resolution_due": rfc3339(f.get("sd")),
        "reacted_at": rfc3339(f.get("aa")),
        "paused": f.get("st") == "waiting",
        "paused_total": (integer(f.get("pt")) or 0) / 1000,  # seconds of open time
        "breached": [name for code, name in SLA_CLOCKS if code in fired],
        "schedule": f.get("sc") or "always",
    }


def _json_object(raw: str) -> dict[str, Any] | None:
    try:
        stored = json.loads(raw)
    except ValueError:
        return None
    return stored if isinstance(stored, dict) else None


def entry_json(
    case_id: int, raw: str, case_channel: str, deliveries: dict[str, str] | None = None
) -> dict[str, Any]:
    """One stored entry in the API's names; `deliveries`: the case's delivery states by entry."""
    stored = _json_object(raw) or {"k": "unreadable"}
    if stored.get("k") == "message" and "c" not in stored:
        stored["c"] = case_channel  # left out when it is the case's own channel
    elif stored.get("k") == "call":
        stored.setdefault("provider", None)  # unknown: stored before call entries named it
    delivery = (deliveries or {}).get(str(stored.get("i")))
    if delivery is not None:
        stored.update(_json_object(delivery) or {})
    named = timeline.api(stored)
    entry: dict[str, Any] = {"at": rfc3339(named.pop("at", None))}
    for name, value in named.items():
        if name == "attachments" and isinstance(value, list):
            entry[name] = [attachment_json(case_id, a) for a in value if isinstance(a, dict)]
        elif name in ("received_at", "due", "edited_at"):
            entry[name] = rfc3339(value)
        else:
            entry[name] = value
    return entry


def stored_attachments(raw: str) -> list[dict[str, Any]]:
    """The attachments of a stored timeline entry as stored (with the digest of the bytes)."""
    found = (_json_object(raw) or {}).get("a")
    return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []


def attachment_json(case_id: int, stored: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": stored.get("id"),
        "name": stored.get("n", ""),
        "type": stored.get("ty", "application/octet-stream"),
        "size": stored.get("sz", 0),
        "url": f"/api/cases/{case_id}/attachments/{stored.get('id')}",
    }
