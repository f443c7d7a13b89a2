"""A missed or abandoned call makes its case a public callback due now, in the same step as the
`callback` flag: one callback however often and in whatever order the call's events arrive."""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp.test_utils import TestClient

from tests.phone_calls import ADMIN, available, calls_of, case, phone_event
from tests.test_events import next_event

LINE = "+74950000010"
ANNA = {"Authorization": "Bearer sample-token-anna"}


def call(call_id: str, event: str, caller: str, **more: Any) -> dict[str, Any]:
    return {"id": f"{call_id}-{event}", "event": event, "call_id": call_id,
            "from": caller, "to": LINE, **more}  # fmt: skip


def callbacks_of(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry for entry in found["timeline"] if entry["kind"] == "callback"]


async def test_a_missed_call_tells_the_holder_its_callback_is_due(gateway: TestClient) -> None:
    await available(gateway, "anna")
    stream = await gateway.get("/api/operators/anna/events", headers=ANNA)
    pop = await phone_event(gateway, **call("cb-1", "ringing", "+79167770001"))
    assert pop["route_to"]["operator"] == "anna"
    assert (await next_event(stream))[0] == "offered"

    await phone_event(gateway, **call("cb-1", "missed", "+79167770001"))

    kind, data = await next_event(stream)
    assert (kind, data["case_id"]) == ("callback_due", pop["case_id"])
    stream.close()
    found = await case(gateway, pop["case_id"])
    [entry] = callbacks_of(found)
    assert (entry["callback"], entry["attempt"], entry["due"]) == ("public", 1, entry["at"])
    assert found["flags"] == ["callback"]
    attempt = {"reached": True, "note": "called back"}
    await gateway.post(f"/api/cases/{pop['case_id']}/accept", json={}, headers=ANNA)
    logged = await gateway.post(f"/api/cases/{pop['case_id']}/callback/attempt",
                                json=attempt, headers=ANNA)  # fmt: skip
    assert logged.status == 200, await logged.text()  # the callback is one /callback made


async def test_repeated_and_reordered_end_events_make_one_callback(gateway: TestClient) -> None:
    events = ("ringing", "missed", "ended")
    for n, order in enumerate(itertools.permutations(events)):
        caller = f"+7916777{n:04d}"
        for event in (*order, *order):  # each twice; `ended` comes without `answered`
            await phone_event(gateway, **call(f"ord-{n}", event, caller, duration=3))
        found = await case(gateway, (await case_of(gateway, caller)))
        [entry] = callbacks_of(found)
        assert (entry["callback"], entry["attempt"]) == ("public", 1), order
        assert len(calls_of(found)) == 1 and found["flags"] == ["callback"], order


async def test_an_answer_reported_late_cancels_the_untried_callback(gateway: TestClient) -> None:
    await available(gateway, "anna")
    caller = "+79167778888"
    for event in ("ringing", "ended", "answered"):
        await phone_event(gateway, **call("late-1", event, caller, operator="anna", duration=9))
    found = await case(gateway, await case_of(gateway, caller))
    [entry] = callbacks_of(found)
    assert entry["cancelled"] is True and found["flags"] == []
    assert (found["status"], found["assignee"]) == ("in_progress", "anna")
    attempt = {"reached": False, "note": "x"}
    refused = await gateway.post(f"/api/cases/{found['id']}/callback/attempt",
                                 json=attempt, headers=ANNA)  # fmt: skip
    assert refused.status == 409  # no callback to attempt any more


async def case_of(gateway: TestClient, caller: str) -> int:
    found = await gateway.get("/api/contacts", params={"phone": caller}, headers=ADMIN)
    assert found.status == 200, await found.text()
    [only] = (await found.json())["open_cases"]
    return int(only["id"])


async def test_a_missed_call_on_an_operators_manual_case_keeps_who_created_it(
    gateway: TestClient,
) -> None:
    caller = "+79167779999"
    body = {"contact": {"phone": caller}, "text": "call me about the invoice"}
    created = await gateway.post("/api/cases", json=body, headers=ANNA)
    assert created.status == 201, await created.text()
    case_id = (await created.json())["id"]
    for event in ("ringing", "missed"):
        answer = await phone_event(gateway, **call("man-1", event, caller))
        assert answer["case_id"] == case_id
    found = await case(gateway, case_id)
    [entry] = callbacks_of(found)
    assert (entry["callback"], found["created_by"]) == ("public", "anna")
