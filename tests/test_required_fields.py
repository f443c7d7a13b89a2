"""Required fields: a case lacking them cannot be resolved (or accepted, when the service says
so); a manual case lacking them goes back to its creator until they are filled in, a case a
channel opens to its rule's or service's `return_to`; its starting classification is recorded."""

from __future__ import annotations

import redis

from routing.keys import Keys
from tests.chat_client import say, visit
from tests.phone_calls import phone_event
from tests.workflow_helpers import (
    BILLING,
    CALLS,
    CLAIMS,
    ORDERS,
    RETURNING,
    Start,
    as_op,
    available,
    call,
    case,
    changes,
    clock,
    event_types,
    sms,
    start,
)

__all__ = ["clock", "start"]  # fixtures

MANUAL = {"contact": {"phone": "+79160000002"}, "text": "wants a refund", "service": "billing"}
FILLED = {"theme": "delivery", "type": "request", "subtheme": "late", "fields": {"contract": "K-7"}}


async def test_resolve_without_required_fields_is_422_listing_them(start: Start) -> None:
    client = await start()
    await available(client, "c")
    case_id = await sms(client, BILLING)
    answer = await call(
        client, "POST", f"/api/cases/{case_id}/resolve", headers=as_op("c"), status=422
    )
    assert answer["error"]["code"] == "missing_required_fields"
    assert answer["error"]["fields"] == ["theme", "subtheme", "contract"]
    assert (await case(client, case_id))["status"] == "assigned"  # nothing changed
    await call(client, "PATCH", f"/api/cases/{case_id}", {"theme": "delivery", "type": "request"})
    answer = await call(client, "POST", f"/api/cases/{case_id}/resolve", status=422)
    assert answer["error"]["fields"] == ["subtheme", "contract"]  # the admin is held to it too
    await call(client, "PATCH", f"/api/cases/{case_id}", FILLED, headers=as_op("c"))
    resolved = await call(client, "POST", f"/api/cases/{case_id}/resolve", headers=as_op("c"))
    assert resolved["status"] == "resolved"


async def test_accept_needs_the_fields_required_for_accept(start: Start) -> None:
    client = await start()
    await available(client, "a")
    case_id = await sms(client, ORDERS)
    answer = await call(
        client, "POST", f"/api/cases/{case_id}/accept", headers=as_op("a"), status=422
    )
    assert (answer["error"]["code"], answer["error"]["fields"]) == (
        "missing_required_fields", ["theme"],
    )  # fmt: skip
    await call(client, "PATCH", f"/api/cases/{case_id}", {"theme": "delivery"}, headers=as_op("a"))
    accepted = await call(client, "POST", f"/api/cases/{case_id}/accept", headers=as_op("a"))
    assert accepted["status"] == "in_progress"


async def test_a_manual_case_lacking_fields_is_returned_to_its_creator(
    start: Start, sync_redis: redis.Redis, keys: Keys
) -> None:
    client = await start()
    await available(client, "c", "d")
    created = await call(client, "POST", "/api/cases", MANUAL, headers=as_op("a"), status=201)
    case_id = created["id"]
    assert (created["status"], created["assignee"], created["created_by"]) == ("returned", "a", "a")
    assert "returned" in event_types(sync_redis, keys, "a")
    assert event_types(sync_redis, keys, "c") == event_types(sync_redis, keys, "d") == []
    mine = await call(client, "GET", "/api/cases?assignee=a", headers=as_op("a"))
    assert [c["id"] for c in mine["cases"]] == [case_id]
    returned = await call(client, "GET", "/api/cases?status=returned", headers=as_op("a"))
    assert [c["id"] for c in returned["cases"]] == [case_id]
    me = await call(client, "GET", "/api/operators/a", headers=as_op("a"))
    assert me["load"]["total"] == 0  # a returned case is not work in the creator's load
    # Part of the fields: still returned; all of them: routed to billing as any case.
    partial = {"theme": "delivery", "type": "request", "subtheme": "late"}
    answer = await call(client, "PATCH", f"/api/cases/{case_id}", partial, headers=as_op("a"))
    assert answer["status"] == "returned"
    fields = {"fields": {"contract": "K-9"}}
    answer = await call(client, "PATCH", f"/api/cases/{case_id}", fields, headers=as_op("a"))
    assert answer["status"] == "assigned" and answer["assignee"] in ("c", "d")
    assert answer["created_by"] == "a"
    assert (await call(client, "GET", "/api/operators/a", headers=as_op("a")))["cases"] == []


async def test_a_manual_case_with_nothing_required_is_routed(start: Start) -> None:
    client = await start()
    await available(client, "s1")
    body = {**MANUAL, "service": "sales"}
    created = await call(client, "POST", "/api/cases", body, headers=as_op("a"), status=201)
    assert (created["status"], created["assignee"], created["created_by"]) == (
        "assigned", "s1", "a",
    )  # fmt: skip


async def test_a_manual_case_created_with_its_fields_is_routed_not_returned(start: Start) -> None:
    client = await start()
    await available(client, "c", "d")
    body = {**MANUAL, **FILLED}
    created = await call(client, "POST", "/api/cases", body, headers=as_op("a"), status=201)
    assert (created["status"], created["created_by"]) == ("assigned", "a")
    assert created["assignee"] in ("c", "d")
    assert (created["theme"], created["type"], created["subtheme"]) == (
        "delivery", "request", "late",
    )  # fmt: skip
    assert created["fields"] == {"contract": "K-7"}
    mine = await call(client, "GET", "/api/cases?created_by=me", headers=as_op("a"))
    assert [(c["id"], c["status"]) for c in mine["cases"]] == [(created["id"], "assigned")]
    assert (await call(client, "GET", "/api/operators/a", headers=as_op("a")))["cases"] == []
    # missing one of them (the custom field): back to the creator, in their own folder
    body = {**MANUAL, **FILLED, "fields": {}, "contact": {"phone": "+79160000003"}}
    held = await call(client, "POST", "/api/cases", body, headers=as_op("a"), status=201)
    assert (held["status"], held["assignee"], held["theme"]) == ("returned", "a", "delivery")
    mine = await call(client, "GET", "/api/cases?created_by=me", headers=as_op("a"))
    assert [(c["id"], c["status"]) for c in mine["cases"]] == [
        (held["id"], "returned"), (created["id"], "assigned"),
    ]  # fmt: skip


async def test_a_manual_case_s_classification_is_checked_like_a_patch(start: Start) -> None:
    client = await start()
    bad = [
        ({"theme": "delivery", "subtheme": "prices"}, "subtheme", "invalid_combination"),
        ({"theme": "tariffs", "type": "consultation"}, "product", "invalid_combination"),
        ({"theme": "delivery", "type": "consultation"}, "type", "invalid_combination"),
        ({"theme": "delivery", "product": "unlimited"}, "product", "invalid_combination"),
        ({"subtheme": "late"}, "subtheme", "invalid_combination"),
        ({"theme": "nope"}, "theme", "invalid_field"),
        ({"fields": {"colour": "red"}}, "fields.colour", "invalid_field"),
        ({"fields": {"contract": 7}}, "fields.contract", "invalid_field"),
        ({"service": "support", "fields": {"amount": 2**70}}, "fields.amount", "invalid_field"),
    ]
    for given, field, code in bad:
        body = {**MANUAL, "type": "request", **given}
        answer = await call(client, "POST", "/api/cases", body, headers=as_op("a"), status=422)
        assert (answer["error"]["code"], answer["error"]["field"]) == (code, field), given
    # nothing was stored by any of them
    assert (await call(client, "GET", "/api/cases?created_by=me", headers=as_op("a")))[
        "cases"
    ] == []
    body = {**MANUAL, "theme": "tariffs", "type": "complaint", "product": "unlimited"}
    created = await call(client, "POST", "/api/cases", body, headers=as_op("a"), status=201)
    assert (created["theme"], created["product"], created["subtheme"]) == (
        "tariffs", "unlimited", None,
    )  # fmt: skip


async def test_a_manual_case_s_starting_classification_is_recorded_as_changes(
    start: Start,
) -> None:
    client = await start()
    await available(client, "c", "d")
    body = {**MANUAL, **FILLED, "product": None}
    created = await call(client, "POST", "/api/cases", body, headers=as_op("a"), status=201)
    found = await case(client, created["id"])
    assert found["timeline"][0]["kind"] == "message"  # the case's text comes first
    assert [(e["field"], e["old"], e["new"], e["by"]) for e in changes(found)] == [
        ("theme", None, "delivery", "a"), ("subtheme", None, "late", "a"),
        ("fields.contract", None, "K-7", "a"),
    ]  # fmt: skip
    # the admin's case: by "admin", as PATCH records the admin; nothing given, no entries
    body = {**MANUAL, "theme": "delivery", "type": "request", "contact": {"phone": "+79160000004"}}
    by_admin = await call(client, "POST", "/api/cases", body, status=201)
    entries = changes(await case(client, by_admin["id"]))
    assert [(e["field"], e["new"], e["by"]) for e in entries] == [("theme", "delivery", "admin")]
    plain = {**MANUAL, "contact": {"phone": "+79160000005"}}
    bare = await call(client, "POST", "/api/cases", plain, headers=as_op("a"), status=201)
    assert changes(await case(client, bare["id"])) == []


async def test_a_rule_s_case_lacking_fields_goes_back_to_the_rule_s_return_to(
    start: Start, sync_redis: redis.Redis, keys: Keys
) -> None:
    client = await start()
    await available(client, "b", "c", "d")
    case_id = await sms(client, RETURNING)
    held = await case(client, case_id)
    assert (held["status"], held["assignee"], held["created_by"], held["service"]) == (
        "returned", "b", "b", "billing",
    )  # fmt: skip
    returned = [e for e in held["timeline"] if e["kind"] == "status"]
    assert returned[-1]["missing"] == ["theme", "subtheme", "contract"]
    assert "returned" in event_types(sync_redis, keys, "b")
    assert event_types(sync_redis, keys, "c") == event_types(sync_redis, keys, "d") == []
    mine = await call(client, "GET", "/api/cases?created_by=me", headers=as_op("b"))
    assert [(c["id"], c["status"]) for c in mine["cases"]] == [(case_id, "returned")]
    me = await call(client, "GET", "/api/operators/b", headers=as_op("b"))
    assert me["load"]["total"] == 0  # not work in their load, as a manual case's creator's
    # the customer writes again: the same case, still with b
    sender = held["contact"]["phones"][0]
    assert await sms(client, RETURNING, sender=sender) == case_id
    # filled in by b: routed to billing's operators like any case
    answer = await call(client, "PATCH", f"/api/cases/{case_id}", FILLED, headers=as_op("b"))
    assert (answer["status"], answer["created_by"]) == ("assigned", "b")
    assert answer["assignee"] in ("c", "d")
    # the same service through a rule without return_to (and none on the service): routed
    routed = await case(client, await sms(client, BILLING))
    assert (routed["status"], routed["created_by"]) == ("assigned", "sms")


async def test_a_service_s_return_to_takes_its_cases_lacking_fields(start: Start) -> None:
    client = await start()
    await available(client, "c", "d", "s1")
    held = await case(client, await sms(client, CLAIMS))
    assert (held["status"], held["assignee"], held["created_by"]) == ("returned", "s1", "s1")
    # the admin's manual case has no operator to go back to: the service's return_to
    body = {**MANUAL, "service": "claims", "contact": {"phone": "+79160000006"}}
    by_admin = await call(client, "POST", "/api/cases", body, status=201)
    assert (by_admin["status"], by_admin["assignee"]) == ("returned", "s1")
    # an operator's manual case goes back to that operator, whatever the service says
    mine = await call(client, "POST", "/api/cases", {**body, "contact": {"phone": "+79160000007"}},
                      headers=as_op("a"), status=201)  # fmt: skip
    assert (mine["status"], mine["assignee"], mine["created_by"]) == ("returned", "a", "a")
    # a case with what the service requires is routed, and keeps its channel as creator
    body = {**body, "theme": "delivery", "type": "request", "contact": {"phone": "+79160000008"}}
    complete = await call(client, "POST", "/api/cases", body, status=201)
    assert complete["status"] == "assigned" and complete["assignee"] in ("c", "d")
    s1 = await call(client, "GET", "/api/cases?created_by=me", headers=as_op("s1"))
    assert sorted(c["id"] for c in s1["cases"]) == [held["id"], by_admin["id"]]


async def test_a_call_or_a_chat_is_never_held_back_for_its_fields(start: Start) -> None:
    """A caller on the line, a visitor typing: their case goes to the service's operators, not
    to the return_to."""
    client = await start()
    await available(client, "b", "c")
    ws, welcome, _ = await visit(client, name="Visitor", phone="+79164445566")
    await say(ws, "hello?")
    chat = await case(client, welcome["case_id"])
    assert (chat["service"], chat["status"], chat["assignee"], chat["created_by"]) == (
        "claims", "assigned", "c", "chat",
    )  # fmt: skip
    await ws.close()
    ringing = {"id": "r1", "event": "ringing", "call_id": "k1", "from": "+79161112233",
               "to": CALLS}  # fmt: skip
    answer = await phone_event(client, **ringing)
    assert answer["route_to"]["operator"] == "c"
    found = await case(client, answer["case_id"])
    assert (found["status"], found["assignee"], found["created_by"]) == ("assigned", "c", "phone")
