"""Operator replies to chat cases: stored and published in one step, no job.

`deliver_chat_reply` is what a reply endpoint calls for a case on channel `chat`: the message
goes to the timeline (delivery `queued`) and to the pub/sub channel of the case; the process
holding the visitor's socket sends it and marks it `sent` (gateway/chat/hub.py). A visitor
who is away gets it replayed when they reconnect (`replay`).
"""

from __future__ import annotations

import time
from typing import Any

from channels import fastjson
from channels.chat import frames
from gateway.runtime.state import Runtime
from gateway.views import rfc3339, text

REPLAY_MAX = 500  # messages sent to a reconnecting visitor at most (the newest)


async def deliver_chat_reply(runtime: Runtime, case_id: int, actor: str, body: str) -> str:
    """`actor` is the operator id ('' for the admin); the answer is the new entry's id.

    Raises RoutingRefused: case_not_found, not_chat, already_resolved, not_yours."""
    now = int(time.time() * 1000)
    channel = runtime.keys.chat_channel(case_id)
    result = await runtime.scripts.chat_reply(now, case_id, actor, body, channel)
    return str(result["id"])


def _frame(position: int, raw: str) -> dict[str, Any] | None:
    """A stored timeline entry as a visitor frame; None for anything but a chat message."""
    try:
        entry = fastjson.loads(raw)
    except ValueError:
        return None
    if not isinstance(entry, dict) or entry.get("k") != "message":
        return None
    body = entry.get("x")
    if not isinstance(body, str) or not body or entry.get("c", "chat") != "chat":
        return None
    sender = "visitor" if entry.get("d") == "in" else "operator"
    return frames.message(sender, body, rfc3339(entry.get("at")), position)


async def replay(runtime: Runtime, case_id: int, since: int) -> list[dict[str, Any]]:
    """The chat messages after timeline position `since`, oldest first."""
    start = since + 1
    length = await runtime.redis.llen(runtime.keys.timeline(case_id))
    start = max(start, length - REPLAY_MAX * 4)  # entries that are not messages count too
    raw = await runtime.redis.lrange(runtime.keys.timeline(case_id), start, -1)
    found = [_frame(start + i, text(item)) for i, item in enumerate(raw)]
    return [frame for frame in found if frame is not None][-REPLAY_MAX:]
