"""The operator's live event stream (SSE) read by a real HTTP client."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import redis
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.http.api.operators import SSE_BLOCK_MS
from routing.keys import Keys
from tests.conftest import ADMIN, signed_sms

ANNA = {"Authorization": "Bearer sample-token-anna"}


async def next_event(resp: ClientResponse) -> tuple[str, dict[str, Any]]:
    """The next `event:`/`data:` pair, skipping keep-alive comments."""
    kind, data = "", ""
    while True:
        line = (await asyncio.wait_for(resp.content.readline(), 5)).decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and kind:
            return kind, json.loads(data)


async def test_assignment_reaches_the_operator_live(gateway: TestClient) -> None:
    await gateway.put("/api/operators/anna/presence", json={"presence": "available"}, headers=ANNA)
    stream = await gateway.get("/api/operators/anna/events", headers=ANNA)
    assert stream.status == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    sms = {"id": "e1", "from": "+79161230001", "to": "+74950000000", "text": "help"}
    case_id = (await (await gateway.post("/hooks/sms", **signed_sms(sms))).json())["case_id"]
    assert await next_event(stream) == ("assigned", {"case_id": case_id})
    again = {"id": "e2", "from": "+79161230001", "to": "+74950000000", "text": "still there?"}
    await gateway.post("/hooks/sms", **signed_sms(again))
    assert await next_event(stream) == ("message", {"case_id": case_id})
    stream.close()


async def test_events_are_only_for_the_operator_or_admin(gateway: TestClient) -> None:
    boris = {"Authorization": "Bearer sample-token-boris"}
    resp = await gateway.get("/api/operators/anna/events", headers=boris)
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "not_yours"
    resp = await gateway.get("/api/operators/anna/events", headers=ADMIN)
    assert resp.status == 200
    resp.close()


async def test_an_offer_reaches_the_operator_with_its_id_and_deadline(gateway: TestClient) -> None:
    await gateway.put("/api/operators/anna/presence", json={"presence": "available"}, headers=ANNA)
    stream = await gateway.get("/api/operators/anna/events", headers=ANNA)
    # A call registered by hand is a phone case; the sample offers phone cases for 20 s.
    body = {"contact": {"phone": "+79161230002"}, "text": "called about a refund"}
    made = await (await gateway.post("/api/cases", json=body, headers=ANNA)).json()
    kind, event = await next_event(stream)
    assert (kind, event["case_id"]) == ("offered", made["id"])
    assert event["offer_id"] == made["offer"]["offer_id"]
    assert event["expires_at"] == made["offer"]["expires_at"]
    assert event["expires_at"].endswith("Z")
    stream.close()


async def test_no_event_falls_between_two_reads_of_the_stream(
    gateway: TestClient, sync_redis: redis.Redis, keys: Keys
) -> None:
    stream = await gateway.get("/api/operators/anna/events", headers=ANNA)
    await asyncio.sleep(0.2)  # the server is now waiting in its first blocking read
    # The event loop (the server's too) stands still while that read times out; the event is
    # written in that gap, before the server reads again. Written as the routing scripts do.
    time.sleep(SSE_BLOCK_MS / 1000 + 0.5)
    sync_redis.xadd(keys.events("anna"), {"type": "assigned", "case": "999"})
    assert await next_event(stream) == ("assigned", {"case_id": 999})
    stream.close()
