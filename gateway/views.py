"""Redis hashes and timeline entries rendered as the JSON shapes of SPEC section 4."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

STATUSES = ("queued", "assigned", "in_progress", "waiting", "resolved")

# Compact timeline keys (as stored) -> the names the API shows.
ENTRY_NAMES = {
    "k": "kind",
    "d": "direction",
    "c": "channel",
    "f": "from",
    "t": "to",
    "x": "text",
    "h": "html",
    "o": "operator",
    "fm": "form",
    "fd": "fields",
    "offer": "offer_id",
    "r": "reason",
    "by": "by",
}


def text(value: Any) -> str:
    """A Redis reply (bytes from this client) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def decoded(fields: Any) -> dict[str, str]:
    """A Redis hash reply as a dict of text."""
    return {text(k): text(v) for k, v in dict(fields).items()}


def rfc3339(ms: str | int | float | None) -> str | None:
    if ms is None or ms == "":
        return None
    moment = datetime.fromtimestamp(int(float(ms)) / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def contact_json(contact_id: str, fields: dict[str, str]) -> dict[str, Any]:
    return {
        "id": contact_id,
        "name": fields.get("n") or None,
        "phones": json.loads(fields.get("ph", "[]")),
        "emails": json.loads(fields.get("em", "[]")),
        "owner": fields.get("ow") or None,
    }


def _int(value: str | None) -> int | None:
    return int(value) if value else None


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
        "priority": _int(f.get("pr")),
        "subject": f.get("sj") or default_subject(contact, service_name),
        "contact": contact,
        "assignee": f.get("as") or None,
        "offer": offer,
        "created_at": rfc3339(f.get("ca")),
        "accepted_at": rfc3339(f.get("aa")),
        "resolved_at": rfc3339(f.get("ra")),
        "sla": {
            "reaction_due": rfc3339(f.get("rd")),
            "resolution_due": rfc3339(f.get("sd")),
            "paused": f.get("st") == "waiting",
        },
        "related_case": _int(f.get("rc")),
        "flags": [flag for flag in f.get("fl", "").split(",") if flag],
    }


def entry_json(case_id: int, raw: str, case_channel: str) -> dict[str, Any]:
    stored: dict[str, Any] = json.loads(raw)
    entry: dict[str, Any] = {"at": rfc3339(stored.pop("at", None))}
    kind = stored.get("k")
    if kind == "message" and "c" not in stored:
        stored["c"] = case_channel  # left out when it is the case's own channel
    for key, value in stored.items():
        if key == "s":
            entry["subject" if kind == "message" else "status"] = value
        elif key == "a":
            entry["attachments"] = [_attachment(case_id, a) for a in value]
        elif key == "rcv":
            entry["received_at"] = rfc3339(value)
        else:
            entry[ENTRY_NAMES.get(key, key)] = value
    return entry


def _attachment(case_id: int, stored: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": stored["id"],
        "name": stored["n"],
        "type": stored["ty"],
        "size": stored["sz"],
        "url": f"/api/cases/{case_id}/attachments/{stored['id']}",
    }
