"""The timeline codec: the one table between a stored entry's compact keys and the API's names.

Entries are stored as compact JSON in `{p}tl:<case>` (routing/keys.py): bytes per entry count
when a deployment keeps millions of them. Python builds entries with `stored(...)`; the Lua
library gets the same table in its prelude (routing/library.py) as `ENTRY`, and its
`timeline(cid, entry)` takes API names; views read entries back with `api(...)`.
"""

from __future__ import annotations

from typing import Any

# API name -> stored key. `subject` and `status` share "s": a message has a subject, a status
# entry a status, so the kind tells which one a stored "s" is.
STORED = {
    "id": "i",
    "at": "at",
    "kind": "k",
    "direction": "d",
    "channel": "c",
    "from": "f",
    "to": "t",
    "text": "x",
    "html": "h",
    "subject": "s",
    "status": "s",
    "operator": "o",
    "form": "fm",
    "fields": "fd",
    "offer_id": "offer",
    "reason": "r",
    "by": "by",
    "service": "service",
    "attachments": "a",
    "received_at": "rcv",
    "message_id": "mid",
    "references": "rf",
    "auto": "auto",
    "delivery": "dl",
    "delivery_error": "de",
    "provider_id": "pi",
    "attempts": "n",
    "field": "fn",  # a `change` entry: which field, its old and new value
    "old": "ov",
    "new": "nv",
}

_NAMES = {stored: name for name, stored in STORED.items() if name != "status"}
_BY_KIND = {"s": {"message": "subject"}}  # stored keys whose name depends on the kind


def stored(**fields: Any) -> dict[str, Any]:
    """An entry named as in the API, with its stored keys; absent (None) values left out."""
    out = {}
    for name, value in fields.items():
        key = name.rstrip("_")  # `from_=...`: `from` is a Python keyword
        if key not in STORED:
            raise KeyError(f"{key!r} is not a timeline entry field (routing/timeline.py)")
        if value is not None:
            out[STORED[key]] = value
    return out


def api(entry: dict[str, Any]) -> dict[str, Any]:
    """A stored entry with its API names; keys the table does not know pass through."""
    kind = entry.get("k")
    out = {}
    for key, value in entry.items():
        by_kind = _BY_KIND.get(key)
        out[by_kind.get(str(kind), "status") if by_kind else _NAMES.get(key, key)] = value
    return out
