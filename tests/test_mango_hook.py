"""Mango Office callbacks through the gateway: signed events become one case with one call."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.phone_calls import ADMIN, available, calls_of, case, load
from tests.test_mango_events import call_payload, posted, summary_payload

KEY, SALT = "sample-mango-key", "sample-mango-salt"  # the sample config's
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def mango(client: TestClient, path: str, body: bytes, expect: int = 200) -> Any:
    response = await client.post(f"/hooks/mango/events/{path}", data=body, headers=FORM)
    assert response.status == expect, await response.text()
    return await response.json()


async def test_appeared_connected_disconnected_is_one_case_with_one_call(
    gateway: TestClient,
) -> None:
    await available(gateway, "anna", "boris")
    answers = []
    for seq, state in enumerate(["Appeared", "Connected", "OnHold", "Disconnected"], start=1):
        body = posted(call_payload(seq, state), key=KEY, salt=SALT)
        answers.append(await mango(gateway, "call", body))
        assert await mango(gateway, "call", body) == answers[-1]  # Mango retries: no change
    summary = await mango(gateway, "summary", posted(summary_payload(), key=KEY, salt=SALT))

    assert answers[2] == {}  # on hold: the call's course is unchanged
    case_ids = {a["case_id"] for a in (*answers[:2], answers[3], summary)}
    [case_id] = case_ids
    found = await case(gateway, case_id)
    assert (found["status"], found["assignee"], found["flags"]) == ("in_progress", "anna", [])
    assert found["contact"]["phones"] == ["+79161234567"]
    [entry] = calls_of(found)
    assert (entry["operator"], entry["duration"], entry["to"]) == ("anna", 95, "+74951234567")
    assert (await load(gateway, "anna"))["phone"] == 1


async def test_a_summary_nobody_talked_in_is_a_callback(gateway: TestClient) -> None:
    body = posted(summary_payload(talk_time=0, entry_result=0), key=KEY, salt=SALT)
    answer = await mango(gateway, "summary", body)
    found = await case(gateway, answer["case_id"])
    assert found["flags"] == ["callback"]
    [entry] = calls_of(found)
    assert entry["missed"] is True
    [callback] = [e for e in found["timeline"] if e["kind"] == "callback"]  # due now, public
    assert (callback["callback"], callback["attempt"], callback["due"]) == (
        "public",
        1,
        entry["at"],
    )


async def test_a_bad_sign_is_refused_and_stores_nothing(gateway: TestClient) -> None:
    for body in (
        posted(call_payload(1, "Appeared"), key=KEY, salt="another-salt"),
        posted(call_payload(1, "Appeared"), key="another-key", salt=SALT),
    ):
        refused = await mango(gateway, "call", body, expect=401)
        assert refused["error"]["code"] == "bad_signature"
    response = await gateway.get("/api/cases", headers=ADMIN)
    assert (await response.json())["cases"] == []
