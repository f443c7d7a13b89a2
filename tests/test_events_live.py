"""The operator's event stream across processes, after a reconnect, and when others edit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.config import Config
from tests.chat_client import ANNA
from tests.conftest import ADMIN, GatewayFactory, signed_sms


async def next_event(resp: ClientResponse) -> tuple[str, str, dict[str, Any]]:
    """(id, event, data) of the next event, skipping keep-alive comments."""
    event_id, kind, data = "", "", ""
    while True:
        line = (await asyncio.wait_for(resp.content.readline(), 5)).decode().rstrip("\n")
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and kind:
            return event_id, kind, json.loads(data)


async def sms_case(client: TestClient, n: int) -> int:
    sms = {"id": f"live{n}", "from": f"+7916123{n:04d}", "to": "+74950000000", "text": "hi"}
    resp = await client.post("/hooks/sms", **signed_sms(sms))
    assert resp.status == 200
    case_id: int = (await resp.json())["case_id"]
    return case_id


async def test_an_assignment_made_through_one_process_reaches_a_stream_on_another(
    make_gateway: GatewayFactory, config: Config
) -> None:
    one, two = await make_gateway(config), await make_gateway(config)
    await one.put("/api/operators/anna/presence", json={"presence": "available"}, headers=ANNA)
    stream = await two.get("/api/operators/anna/events", headers=ANNA)
    case_id = await sms_case(one, 1)
    _, kind, data = await next_event(stream)
    assert (kind, data) == ("assigned", {"case_id": case_id})
    stream.close()


async def test_last_event_id_gets_exactly_the_missed_events(
    make_gateway: GatewayFactory, config: Config
) -> None:
    one, two = await make_gateway(config), await make_gateway(config)
    await one.put("/api/operators/anna/presence", json={"presence": "available"}, headers=ANNA)
    stream = await one.get("/api/operators/anna/events", headers=ANNA)
    first = await sms_case(one, 2)
    seen_id, _, data = await next_event(stream)
    assert data == {"case_id": first}
    stream.close()
    missed = [await sms_case(one, 3), await sms_case(one, 4)]
    again = await two.get("/api/operators/anna/events", headers={**ANNA, "Last-Event-ID": seen_id})
    got = [await next_event(again), await next_event(again)]
    assert [(kind, data["case_id"]) for _, kind, data in got] == [
        ("assigned", missed[0]),
        ("assigned", missed[1]),
    ]
    assert len({seen_id, got[0][0], got[1][0]}) == 3
    later = await sms_case(one, 5)  # nothing else was queued in front of it
    assert (await next_event(again))[2] == {"case_id": later}
    again.close()


async def test_someone_else_editing_a_case_tells_its_assignee(gateway: TestClient) -> None:
    await gateway.put("/api/operators/anna/presence", json={"presence": "available"}, headers=ANNA)
    stream = await gateway.get("/api/operators/anna/events", headers=ANNA)
    case_id = await sms_case(gateway, 6)
    assert (await next_event(stream))[1] == "assigned"
    await gateway.post(f"/api/cases/{case_id}/note", json={"text": "own note"}, headers=ANNA)
    boris = {"Authorization": "Bearer sample-token-boris"}
    resp = await gateway.post(f"/api/cases/{case_id}/note", json={"text": "fyi"}, headers=boris)
    assert resp.status == 201
    _, kind, data = await next_event(stream)  # her own note told her nothing
    assert (kind, data) == ("case_updated", {"case_id": case_id, "change": "note", "by": "boris"})
    resp = await gateway.post(f"/api/cases/{case_id}/resolve", headers=ADMIN)
    assert resp.status == 200
    _, kind, data = await next_event(stream)
    assert (kind, data) == (
        "case_updated",
        {"case_id": case_id, "change": "resolved", "by": "admin"},
    )
    other = await sms_case(gateway, 7)
    assert (await next_event(stream))[2] == {"case_id": other}
    move = {"operator": "boris"}
    resp = await gateway.post(f"/api/cases/{other}/transfer", json=move, headers=ADMIN)
    assert resp.status == 200
    _, kind, data = await next_event(stream)
    assert (kind, data) == (
        "case_updated",
        {"case_id": other, "change": "transferred", "by": "admin"},
    )
    stream.close()
