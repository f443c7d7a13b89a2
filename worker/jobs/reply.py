"""What a reply's sender needs, read from the case: the entry, the subject, the mail it answers."""

from __future__ import annotations

import json
from typing import Any

from redis import Redis

from channels.outbound import Delivery
from gateway.views import text
from routing import timeline
from routing.keys import Keys


def _entries(connection: Redis, keys: Keys, case_id: int) -> list[dict[str, Any]]:
    found = []
    for raw in connection.lrange(keys.timeline(case_id), 0, -1):
        try:
            stored = json.loads(raw)
        except ValueError:
            continue
        if isinstance(stored, dict):
            found.append(timeline.api(stored))
    return found


def delivery_of(connection: Redis, keys: Keys, case_id: int, entry_id: str) -> tuple[str, Delivery]:
    """(channel, delivery) of the `out` entry `entry_id`; mail answers the last customer mail,
    SMS comes from the number the customer last wrote to."""
    entries = _entries(connection, keys, case_id)
    entry = next((e for e in entries if e.get("id") == entry_id), {})
    fields = connection.hmget(keys.case(case_id), "ch", "sj", "pv")
    channel = str(entry.get("channel") or text(fields[0] or b""))
    received = [e for e in entries if e.get("kind") == "message" and e.get("direction") == "in"]
    mail_ids = [str(e["message_id"]) for e in received if e.get("message_id")]
    written_to = [str(e["to"]) for e in received if e.get("to")]
    delivery = Delivery(
        case_id=case_id,
        entry_id=entry_id,
        to=str(entry.get("to", "")),
        text=str(entry.get("text", "")),
        subject=text(fields[1] or b""),
        in_reply_to=mail_ids[-1] if mail_ids else "",
        references=tuple(mail_ids[:-1]),
        auto=entry.get("auto") is True,
        provider=text(fields[2] or b""),
        sender=written_to[-1] if written_to else "",
    )
    return channel, delivery
