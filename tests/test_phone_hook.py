"""The generic softphone/PBX API `POST /hooks/phone`: screen pop, call lifecycle, idempotency."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.phone_calls import ADMIN, available, calls_of, case, load, phone_event

LINE = "+74950000010"


def call(call_id: str, event: str, caller: str, n: int = 0, **more: Any) -> dict[str, Any]:
    return {"id": f"{call_id}-{event}-{n}", "event": event, "call_id": call_id,
            "from": caller, "to": LINE, **more}  # fmt: skip


async def totals(gateway: TestClient) -> tuple[int, int]:
    return (await load(gateway, "anna"))["total"], (await load(gateway, "boris"))["total"]


async def test_screen_pop_lists_the_callers_open_cases(gateway: TestClient) -> None:
    opened = []
    for text in ("first", "second"):
        body = {"contact": {"phone": "+7 916 123-45-67"}, "text": text}
        response = await gateway.post("/api/cases", json=body, headers=ADMIN)
        assert response.status == 201, await response.text()
        opened.append((await response.json())["id"])

    pop = await phone_event(gateway, **call("pop-1", "ringing", "8 (916) 123-45-67"))

    assert pop["call_id"] == "pop-1"
    assert pop["contact"]["phones"] == ["+79161234567"]
    assert sorted(c["id"] for c in pop["open_cases"]) == sorted(opened)
    assert pop["case_id"] == max(opened)  # the newest unresolved case in the service continues
    assert pop["route_to"] is None  # everyone is offline: the case stays where it was


async def test_ringing_offers_the_call_and_routes_to_an_operator_with_a_phone(
    gateway: TestClient,
) -> None:
    await available(gateway, "anna", "boris")
    pop = await phone_event(gateway, **call("ring-1", "ringing", "+79161110000"))

    assert pop["route_to"] == {"operator": "anna", "phone": "+74950000001"}
    assert pop["contact"]["phones"] == ["+79161110000"]  # unknown caller: a lead, just the number
    found = await case(gateway, pop["case_id"])
    assert (found["status"], found["channel"], found["assignee"]) == ("assigned", "phone", "anna")
    assert found["offer"]["operator"] == "anna"
    assert (await load(gateway, "anna"))["phone"] == 1


async def test_answered_by_another_operator_revokes_the_offer(gateway: TestClient) -> None:
    await available(gateway, "anna", "boris")
    pop = await phone_event(gateway, **call("ans-1", "ringing", "+79162220000"))
    assert pop["route_to"]["operator"] == "anna"

    answered = call("ans-1", "answered", "+79162220000", operator="boris")
    answer = await phone_event(gateway, **answered)

    assert answer == {"call_id": "ans-1", "case_id": pop["case_id"]}
    found = await case(gateway, pop["case_id"])
    assert (found["status"], found["assignee"], found["offer"]) == ("in_progress", "boris", None)
    assert (await load(gateway, "anna"))["phone"] == 0
    assert (await load(gateway, "boris"))["phone"] == 1


async def test_transferred_moves_the_case_and_both_loads(gateway: TestClient) -> None:
    await available(gateway, "anna", "boris")
    caller = "+79163330000"
    pop = await phone_event(gateway, **call("tr-1", "ringing", caller))
    await phone_event(gateway, **call("tr-1", "answered", caller, operator="anna"))
    assert await totals(gateway) == (1, 0)

    await phone_event(gateway, **call("tr-1", "transferred", caller, operator="boris"))
    await phone_event(gateway, **call("tr-1", "ended", caller, duration=95))

    found = await case(gateway, pop["case_id"])
    assert (found["status"], found["assignee"]) == ("in_progress", "boris")
    assert await totals(gateway) == (0, 1)
    [entry] = calls_of(found)
    assert (entry["operator"], entry["duration"]) == ("boris", 95)


async def test_an_answered_arriving_after_the_transfer_leaves_the_case_moved(
    gateway: TestClient,
) -> None:
    await available(gateway, "anna", "boris")
    caller = "+79163330001"
    pop = await phone_event(gateway, **call("tr-2", "ringing", caller))
    await phone_event(gateway, **call("tr-2", "transferred", caller, operator="boris"))
    await phone_event(gateway, **call("tr-2", "answered", caller, operator="anna"))

    found = await case(gateway, pop["case_id"])
    assert (found["status"], found["assignee"]) == ("in_progress", "boris")
    assert await totals(gateway) == (0, 1)


async def test_missed_call_flags_callback_and_stays_routed(gateway: TestClient) -> None:
    await available(gateway, "anna")
    pop = await phone_event(gateway, **call("miss-1", "ringing", "+79164440000"))
    await phone_event(gateway, **call("miss-1", "missed", "+79164440000"))

    found = await case(gateway, pop["case_id"])
    assert found["flags"] == ["callback"]
    assert (found["status"], found["assignee"]) == ("assigned", "anna")
    [entry] = calls_of(found)
    assert entry["missed"] is True and "operator" not in entry


async def test_withheld_callers_never_share_a_contact(gateway: TestClient) -> None:
    pops = []
    for n, caller in enumerate(("anonymous", "", "+266696687", "anonymous")):
        pops.append(await phone_event(gateway, **call(f"anon-{n}", "ringing", caller)))

    assert len({p["contact"]["id"] for p in pops}) == 4
    assert len({p["case_id"] for p in pops}) == 4
    assert all(p["contact"]["phones"] == [] and p["open_cases"] == [p_case(p)] for p in pops)


def p_case(pop: dict[str, Any]) -> Any:
    [only] = pop["open_cases"]
    assert only["id"] == pop["case_id"]
    return only


async def _outcome(gateway: TestClient, case_id: int) -> tuple[Any, ...]:
    found = await case(gateway, case_id)
    [entry] = calls_of(found)
    entry.pop("at")
    entry.pop("call_id")
    entry.pop("from")
    assert entry.pop("id")  # every entry has one; its number depends on what came first
    return found["status"], found["assignee"], found["flags"], entry


async def test_duplicated_and_reordered_events_end_the_same(gateway: TestClient) -> None:
    await available(gateway, "anna", "boris")
    rec = {"duration": 42, "recording_url": "https://pbx.example.com/rec/1.mp3"}
    ordered = ["ringing", "answered", "ended"]
    shuffled = ["ended", "ringing", "answered", "ended", "answered", "ringing"]
    outcomes = []
    for call_id, steps in (("in-order", ordered), ("shuffled", shuffled)):
        caller = f"+7916555000{len(outcomes)}"
        first = None
        for step in steps:
            more = {"operator": "boris"} if step == "answered" else rec if step == "ended" else {}
            answer = await phone_event(gateway, **call(call_id, step, caller, **more))
            first = first or answer
        outcomes.append(await _outcome(gateway, first["case_id"]))
        assert (await load(gateway, "boris"))["phone"] == len(outcomes)
    assert outcomes[0] == outcomes[1]
    status, assignee, flags, entry = outcomes[0]
    assert (status, assignee, flags) == ("in_progress", "boris", [])
    seen = {"kind": "call", "direction": "in", "to": LINE, "operator": "boris", "provider": "phone"}
    assert entry == {**seen, **rec}
    assert (await load(gateway, "anna"))["phone"] == 0  # both offers were revoked


async def test_a_repeated_delivery_gets_the_same_answer_and_stores_nothing(
    gateway: TestClient,
) -> None:
    event = call("rep-1", "ringing", "+79166660000")
    first = await phone_event(gateway, **event)
    again = await phone_event(gateway, **event)
    assert again == first
    ended = call("rep-1", "ended", "+79166660000", duration=5)
    assert await phone_event(gateway, **ended) == await phone_event(gateway, **ended)
    assert len((await case(gateway, first["case_id"]))["timeline"]) == 1  # the one call entry


async def test_bad_events_are_refused_with_the_error_body(gateway: TestClient) -> None:
    good = call("bad-1", "ringing", "+79167770000")
    refused = await phone_event(gateway, expect=401, secret="wrong", **good)
    assert refused["error"]["code"] == "bad_signature"
    unknown = call("bad-1", "answered", "+79167770000", operator="nobody")
    refused = await phone_event(gateway, expect=422, **unknown)
    assert refused["error"]["field"] == "operator"
    refused = await phone_event(gateway, expect=422, **{**good, "event": "exploded"})
    assert refused["error"]["field"] == "event"
    response = await gateway.get("/api/cases", headers=ADMIN)
    assert (await response.json())["cases"] == []  # nothing half-written
