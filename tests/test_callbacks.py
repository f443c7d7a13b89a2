"""Scheduled callbacks through the running gateway with an injected clock: private to its
operator, public to anyone, a private one whose operator stays away becomes public, attempts
not reached until callback_failed, relative and absolute due times, and missed calls."""

# ruff: noqa: F401, F811 (the fixtures clock, config_path and start come from sla_helpers)

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import redis
from aiohttp.test_utils import TestClient

from gateway.http.api.callbacks import missed_call
from gateway.http.app_keys import RUNTIME
from gateway.runtime.clock import SettableClock
from routing.keys import Keys
from tests.sla_helpers import (
    MINUTE,
    Start,
    as_op,
    available,
    call,
    case,
    clock,
    config_path,
    iso,
    kinds,
    local_ms,
    sms,
    start,
    until,
)


async def accepted_case(client: TestClient, sender: str, op: str = "a") -> int:
    cid = await sms(client, sender)
    assert (await case(client, cid))["assignee"] == op
    await call(client, "POST", f"/api/cases/{cid}/accept", {}, as_op(op))
    return cid


async def callback(client: TestClient, cid: int, body: dict[str, Any], op: str = "a") -> Any:
    return await call(client, "POST", f"/api/cases/{cid}/callback", body, as_op(op), status=201)


async def attempt(client: TestClient, cid: int, reached: bool, op: str = "a") -> Any:
    body = {"reached": reached, "note": "no answer" if not reached else "done"}
    return await call(client, "POST", f"/api/cases/{cid}/callback/attempt", body, as_op(op))


def callback_entries(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in found["timeline"] if e["kind"] == "callback"]


async def test_a_private_callback_is_offered_to_its_operator_when_due(
    start: Start, config_path: Path, clock: SettableClock, keys: Keys, sync_redis: redis.Redis
) -> None:
    client = await start(config_path)
    await available(client, "a", "b")
    cid = await accepted_case(client, "+79160000101")
    waiting = await callback(client, cid, {"kind": "private", "in": "30m", "note": "lunch"})
    assert waiting["status"] == "waiting" and waiting["sla"]["paused"] is True
    due = clock.ms + 30 * MINUTE  # relative: exactly then, not moved to an opening
    scheduled = callback_entries(await case(client, cid))
    assert scheduled == [{**scheduled[0], "callback": "private", "due": iso(due), "attempt": 1}]
    assert (await call(client, "GET", "/api/operators/a"))["load"]["total"] == 0
    clock.ms = due + MINUTE
    found = await until(client, cid, lambda c: c["status"] == "assigned")
    assert found["assignee"] == "a"
    assert callback_entries(found)[-1]["to"] == "a"
    assert kinds(sync_redis, keys, "a", "callback_due") == ["callback_due"]
    assert found["sla"]["paused_total"] == 31 * 60


async def test_public_callbacks_and_a_private_one_past_its_grace_go_to_anyone(
    start: Start, config_path: Path, clock: SettableClock
) -> None:
    client = await start(config_path)
    await available(client, "a", "b")
    private = await accepted_case(client, "+79160000102")
    public = await accepted_case(client, "+79160000103", op="b")
    await callback(client, private, {"kind": "private", "in": "5m"})
    await callback(client, public, {"kind": "public", "in": "5m"}, op="b")
    await call(client, "PUT", "/api/operators/b/presence", {"presence": "offline"})
    await call(client, "PUT", "/api/operators/a/presence", {"presence": "away"})
    await call(client, "PUT", "/api/operators/c/presence", {"presence": "available"})
    clock.ms += 6 * MINUTE
    await asyncio.sleep(0.6)  # a few sweeps: a is away, but within the 10 minutes of grace
    assert (await case(client, private))["status"] == "waiting"
    await call(client, "PUT", "/api/operators/b/presence", {"presence": "available"})
    moved = await until(client, public, lambda c: c["status"] == "assigned")
    assert moved["assignee"] == "b"  # public: the least-loaded member, here the only one
    clock.ms += 10 * MINUTE
    found = await until(client, private, lambda c: c["status"] == "assigned")
    assert found["assignee"] == "b" and callback_entries(found)[-1]["callback"] == "public"


async def test_not_reached_three_times_flags_callback_failed_and_absolute_dues_open_hours(
    start: Start, config_path: Path, clock: SettableClock
) -> None:
    client = await start(config_path)
    await available(client, "a")
    cid = await accepted_case(client, "+79160000104")
    at = iso(local_ms("2027-03-03 20:00"))  # after closing: moved to Thursday 09:00
    await callback(client, cid, {"kind": "private", "at": at})
    assert callback_entries(await case(client, cid))[-1]["due"] == iso(local_ms("2027-03-04 09:00"))
    clock.ms = local_ms("2027-03-04 09:00")
    for number, due in ((1, "2027-03-04 09:30"), (2, "2027-03-04 10:00"), (3, None)):
        await until(client, cid, lambda c: c["status"] == "assigned")
        await call(client, "POST", f"/api/cases/{cid}/accept", {}, as_op("a"))
        after = await attempt(client, cid, reached=False)
        logged = [e for e in callback_entries(await case(client, cid)) if "reached" in e]
        assert (logged[-1]["attempt"], logged[-1]["reached"]) == (number, False)
        if due is None:
            assert after["status"] == "in_progress" and "callback_failed" in after["flags"]
        else:
            assert after["status"] == "waiting" and "callback_failed" not in after["flags"]
            assert callback_entries(await case(client, cid))[-1]["due"] == iso(local_ms(due))
            clock.ms = local_ms(due)
    refused = await call(client, "POST", f"/api/cases/{cid}/callback/attempt",
                         {"reached": True}, as_op("a"), status=409)  # fmt: skip
    assert refused["error"]["code"] == "no_callback"


async def test_a_reached_callback_ends_it(
    start: Start, config_path: Path, clock: SettableClock
) -> None:
    client = await start(config_path)
    await available(client, "a")
    cid = await accepted_case(client, "+79160000105")
    await callback(client, cid, {"kind": "private", "in": "0s"})
    await until(client, cid, lambda c: c["status"] == "assigned")
    await call(client, "POST", f"/api/cases/{cid}/accept", {}, as_op("a"))
    done = await attempt(client, cid, reached=True)
    assert done["status"] == "in_progress" and "callback_failed" not in done["flags"]
    assert callback_entries(await case(client, cid))[-1]["reached"] is True


async def test_bad_callback_requests_change_nothing(
    start: Start, config_path: Path, clock: SettableClock
) -> None:
    client = await start(config_path)
    await available(client, "a")
    cid = await accepted_case(client, "+79160000106")
    before = await case(client, cid)
    for body, field in (
        ({"in": "30m"}, "kind"),
        ({"kind": "later", "in": "30m"}, "kind"),
        ({"kind": "public"}, "at"),
        ({"kind": "public", "in": "30m", "at": iso(clock.ms)}, "at"),
        ({"kind": "public", "in": "soon"}, "in"),
        ({"kind": "public", "in": "400d"}, "in"),
        ({"kind": "public", "at": "2027-03-03T10:00:00"}, "at"),
        ({"kind": "public", "at": 17}, "at"),
        ({"kind": "public", "in": "5m", "note": ["x"]}, "note"),
    ):
        refused = await call(client, "POST", f"/api/cases/{cid}/callback", body, as_op("a"),
                             status=422)  # fmt: skip
        assert refused["error"]["field"] == field, (body, refused)
    body = {"reached": "yes"}
    refused = await call(client, "POST", f"/api/cases/{cid}/callback/attempt", body, as_op("a"),
                         status=422)  # fmt: skip
    assert refused["error"]["field"] == "reached"
    await call(client, "POST", f"/api/cases/{cid}/callback", {"kind": "public", "in": "5m"},
               as_op("b"), status=403)  # fmt: skip
    assert await case(client, cid) == before
    queued = await sms(client, "+79160000107")
    await call(client, "PUT", "/api/operators/a/presence", {"presence": "offline"})
    refused = await call(client, "POST", f"/api/cases/{queued}/callback",
                         {"kind": "public", "in": "5m"}, status=409)  # fmt: skip
    assert refused["error"]["code"] == "not_in_progress"


async def test_a_missed_call_becomes_a_public_callback_due_now(
    start: Start, config_path: Path, clock: SettableClock
) -> None:
    client = await start(config_path)
    runtime = client.server.app[RUNTIME]
    queued = await sms(client, "+79160000108")  # nobody available: queued
    await missed_call(runtime, queued)
    entry = callback_entries(await case(client, queued))[-1]
    assert (entry["callback"], entry["due"], entry["attempt"]) == ("public", iso(clock.ms), 1)
    await available(client, "a")
    await call(client, "POST", f"/api/cases/{queued}/accept", {}, as_op("a"))
    after = await attempt(client, queued, reached=True)
    assert after["status"] == "in_progress"
    paused = await accepted_case(client, "+79160000109")
    await call(client, "POST", f"/api/cases/{paused}/pause", {"reason": "x"}, as_op("a"))
    await call(client, "PUT", "/api/operators/a/presence", {"presence": "away"})
    await available(client, "b")
    await missed_call(runtime, paused)  # a waiting case is routed to anyone at once
    found = await until(client, paused, lambda c: c["status"] == "assigned")
    assert found["assignee"] == "b"
