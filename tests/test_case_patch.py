"""PATCH /api/cases/{id}: classification and custom fields checked against the catalogue, one
`change` entry per changed field, a type change re-prices the case and moves its SLA dues."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest
import redis
import redis.asyncio

from gateway.config import Config
from gateway.runtime.clock import SettableClock
from gateway.workflow import catalogue_json
from routing.errors import RoutingRefused
from routing.keys import Keys
from routing.scripts import Scripts
from tests.conftest import ADMIN
from tests.sla_helpers import iso
from tests.workflow_helpers import (
    LINE,
    MINUTE,
    START_MS,
    Start,
    as_op,
    available,
    call,
    case,
    changes,
    clock,
    config_text,
    event_types,
    sms,
    start,
)

__all__ = ["clock", "start"]  # fixtures

INVALID = [
    ({"theme": "nope"}, "theme"),
    ({"type": "unknown"}, "type"),
    ({"type": None}, "type"),
    ({"subtheme": "late"}, "subtheme"),  # no theme
    ({"product": "courier"}, "product"),  # no theme
    ({"product": "nothing"}, "product"),
    ({"theme": "delivery", "type": "consultation"}, "type"),  # not a type of the theme
    (
        {"theme": "tariffs", "type": "request", "subtheme": "late", "product": "unlimited"},
        "subtheme",
    ),
    ({"theme": "tariffs", "type": "request", "subtheme": "change"}, "product"),  # required
    ({"theme": "delivery", "type": "request", "product": "unlimited"}, "product"),  # other theme
    ({"fields": {"colour": "red"}}, "fields.colour"),
    ({"fields": {"amount": "12"}}, "fields.amount"),
    ({"fields": {"amount": True}}, "fields.amount"),
    ({"fields": {"method": "bitcoin"}}, "fields.method"),
    ({"fields": {"due": "2027-02-30"}}, "fields.due"),
    ({"fields": {"due": "1 March"}}, "fields.due"),
    ({"fields": {"callback": "call me"}}, "fields.callback"),
    ({"fields": {"contract": 5}}, "fields.contract"),
    ({"fields": []}, "fields"),
    ({"subject": ""}, "subject"),
    ({"service": "sales"}, "service"),
    ({}, "theme"),
]


@pytest.mark.parametrize(("body", "field"), INVALID)
async def test_every_invalid_combination_is_422_naming_the_field(
    start: Start, body: dict[str, Any], field: str
) -> None:
    client = await start()
    await available(client, "a")
    case_id = await sms(client)
    answer = await call(client, "PATCH", f"/api/cases/{case_id}", body, status=422)
    assert answer["error"]["field"] == field, answer
    found = await case(client, case_id)
    assert not changes(found) and found["theme"] is None and found["fields"] == {}
    assert found["type"] == "request"


# What CasePatch (gateway/http/schemas/workflow.py) refuses while it decodes: msgspec's words,
# the JSON path as `field`.
MISFIT = [
    ({"fields": "x"}, "fields", "'fields': Expected `object`, got `str`."),
    ({"theme": 5}, "theme", "'theme': Expected `str | null`, got `int`."),
    ({"theme": ""}, "theme", "'theme': Expected `str` of length >= 1."),
    ({"type": None}, "type", "'type': Expected `str`, got `null`."),
    ({"subject": None}, "subject", "'subject': Expected `int | str`, got `null`."),
    ({"theme": "tariffs", "colour": "red"}, "colour", "'colour' cannot be given here."),
]


@pytest.mark.parametrize(("body", "field", "message"), MISFIT)
async def test_a_body_that_does_not_fit_case_patch_is_refused_by_the_struct(
    start: Start, body: dict[str, Any], field: str, message: str
) -> None:
    client = await start()
    await available(client, "a")
    case_id = await sms(client)
    answer = await call(client, "PATCH", f"/api/cases/{case_id}", body, status=422)
    expected = {"code": "invalid_field", "message": message.replace("`", ""), "field": field}
    assert answer["error"] == expected
    assert not changes(await case(client, case_id))


async def test_a_valid_patch_records_each_change(
    start: Start, sync_redis: redis.Redis, keys: Keys
) -> None:
    client = await start()
    await available(client, "a")
    case_id = await sms(client)
    body = {
        "theme": "tariffs",
        "type": "request",
        "subtheme": "prices",
        "product": "unlimited",
        "subject": "Tariff question",
        "fields": {
            "amount": 12.5,
            "method": "card",
            "due": "2027-03-01",
            "callback": "8 916 123-45-67",
        },
    }
    answer = await call(client, "PATCH", f"/api/cases/{case_id}", body, headers=as_op("a"))
    assert (answer["theme"], answer["subtheme"], answer["product"]) == (
        "tariffs", "prices", "unlimited",
    )  # fmt: skip
    assert answer["subject"] == "Tariff question"
    assert answer["fields"] == {
        "amount": 12.5, "method": "card", "due": "2027-03-01", "callback": "+79161234567",
    }  # fmt: skip
    entries = {e["field"]: e for e in changes(await case(client, case_id))}
    assert set(entries) == {
        "theme",
        "subtheme",
        "product",
        "subject",
        "fields.amount",
        "fields.method",
        "fields.due",
        "fields.callback",
    }  # fmt: skip  (type is unchanged: no entry)
    assert entries["theme"] == {**entries["theme"], "old": None, "new": "tariffs", "by": "a"}
    assert isinstance(entries["theme"]["id"], str)
    assert "case_updated" in event_types(sync_redis, keys, "a")
    # The same PATCH again changes nothing and records nothing.
    await call(client, "PATCH", f"/api/cases/{case_id}", body, headers=as_op("a"))
    assert len(changes(await case(client, case_id))) == len(entries)
    # Clearing a field records its old value.
    await call(client, "PATCH", f"/api/cases/{case_id}", {"fields": {"method": None}})
    last = changes(await case(client, case_id))[-1]
    assert (last["field"], last["old"], last["new"], last["by"]) == (
        "fields.method", "card", None, "admin",
    )  # fmt: skip


async def test_a_type_change_moves_priority_and_sla_dues(start: Start) -> None:
    client = await start()
    await available(client, "a")
    case_id = await sms(client)  # request: priority 2, reaction 1h, resolution 1d
    before = await case(client, case_id)
    assert before["priority"] == 2
    assert before["sla"]["reaction_due"] == iso(START_MS + 60 * MINUTE)
    answer = await call(client, "PATCH", f"/api/cases/{case_id}", {"type": "complaint"})
    assert answer["priority"] == 1
    assert answer["sla"]["reaction_due"] == iso(START_MS + 15 * MINUTE)
    assert answer["sla"]["resolution_due"] == iso(START_MS + 240 * MINUTE)
    fields = [(e["field"], e["old"], e["new"]) for e in changes(await case(client, case_id))]
    assert fields == [("type", "request", "complaint"), ("priority", 2, 1)]


async def test_a_type_change_moves_a_queued_case_up_its_queue(
    start: Start, sync_redis: redis.Redis, keys: Keys
) -> None:
    client = await start()  # nobody available: both wait in support's queue
    first, second = await sms(client), await sms(client)
    queue = keys.queue("support", "sms")
    assert [int(c) for c in sync_redis.zrange(queue, 0, -1)] == [first, second]
    await call(client, "PATCH", f"/api/cases/{second}", {"type": "complaint"})
    assert [int(c) for c in sync_redis.zrange(queue, 0, -1)] == [second, first]
    await available(client, "a")
    assert {(await case(client, c))["status"] for c in (first, second)} == {"assigned"}


async def test_only_the_assignee_creator_or_admin_may_patch(start: Start) -> None:
    client = await start()
    await available(client, "a")
    case_id = await sms(client)
    answer = await call(
        client, "PATCH", f"/api/cases/{case_id}", {"subject": "x"}, headers=as_op("b"), status=403
    )
    assert answer["error"]["code"] == "not_yours"
    created = await call(
        client, "POST", "/api/cases",
        {"contact": {"phone": "+79160000001"}, "text": "call", "service": "sales"},
        headers=as_op("b"), status=201,
    )  # fmt: skip
    assert created["created_by"] == "b" and created["assignee"] != "b"
    await call(
        client, "PATCH", f"/api/cases/{created['id']}", {"subject": "mine"}, headers=as_op("b")
    )
    await call(client, "PATCH", f"/api/cases/{case_id}", {"subject": "admin"}, headers=ADMIN)
    assert (await case(client, case_id))["created_by"] == "sms"
    await call(client, "PATCH", "/api/cases/999", {"subject": "x"}, status=404)


async def test_fields_follow_the_case_service(start: Start, clock: SettableClock) -> None:
    client = await start()
    await available(client, "a", "c")
    case_id = await sms(client)
    await call(client, "PATCH", f"/api/cases/{case_id}", {"fields": {"contract": "K-1"}})
    await call(client, "POST", f"/api/cases/{case_id}/transfer", {"service": "sales"})
    answer = await call(
        client, "PATCH", f"/api/cases/{case_id}", {"fields": {"amount": 1}}, status=422
    )
    assert answer["error"]["field"] == "fields.amount"  # sales has no custom fields


async def test_a_case_changed_since_the_read_is_refused_stale(
    start: Start, redis_url: str, keys: Keys, write_config: Callable[[str], Config]
) -> None:
    """The step checks what the due times and field checks were computed from (the service,
    classification time and pauses); PATCH reads again and retries on `stale`."""
    client = await start()
    await available(client, "a")
    case_id = await sms(client)
    async_client = redis.asyncio.Redis.from_url(redis_url)
    scripts = Scripts(async_client, keys)
    context = json.dumps({"window": 300_000, "seen": {"sv": "sales", "cl": "", "pt": ""}})
    change = json.dumps({"subject": "from an old read"})
    with pytest.raises(RoutingRefused) as caught:
        await scripts.wf_patch(
            START_MS,
            case_id,
            "",
            change,
            catalogue_json(write_config(config_text()).routing),
            context,
        )
    await async_client.aclose()
    assert caught.value.code == "stale"
    assert not changes(await case(client, case_id))


async def test_a_classifying_case_gets_no_clocks_from_a_type_change(start: Start) -> None:
    client = await start()
    await available(client, "t1")
    case_id = await sms(client, LINE)
    answer = await call(
        client, "PATCH", f"/api/cases/{case_id}", {"type": "complaint"}, headers=as_op("t1")
    )
    assert (answer["status"], answer["priority"]) == ("classifying", 1)
    assert answer["sla"]["reaction_due"] is None


ODD_VALUES: list[Any] = [
    None, "", " ", "x" * 2000, "\x00", "tariffs", "delivery", "late", "change", "unlimited",
    "courier", "request", "complaint", 0, -1, 1e308, True, [], {}, ["tariffs"], {"a": 1},
    "2027-03-01", "8 916 123-45-67", "card",
]  # fmt: skip


async def test_odd_bodies_answer_200_or_422_and_a_refusal_writes_nothing(start: Start) -> None:
    client = await start()
    await available(client, "a")
    case_id = await sms(client)
    rng = random.Random(18)
    names = ["theme", "type", "subtheme", "product", "subject", "fields"]
    field_ids = ["contract", "amount", "method", "due", "callback", "nope"]
    seen = set()
    for _ in range(120):
        body: dict[str, Any] = {}
        for name in rng.sample(names, rng.randint(1, 4)):
            if name == "fields" and rng.random() < 0.7:
                body[name] = {f: rng.choice(ODD_VALUES) for f in rng.sample(field_ids, 2)}
            else:
                body[name] = rng.choice(ODD_VALUES)
        before = await case(client, case_id)
        resp = await client.patch(f"/api/cases/{case_id}", json=body, headers=ADMIN)
        answer = await resp.json()
        assert resp.status in (200, 422), (body, answer)
        seen.add(resp.status)
        if resp.status == 422:
            assert answer["error"]["field"], answer
            assert await case(client, case_id) == before, body
    assert seen == {200, 422}  # both kinds were tried


async def test_the_answers_are_the_case_as_get_shows_it(start: Start) -> None:
    """PATCH, classify and reopen answer with the hashes their step left (no read after it):
    the same JSON as GET /api/cases/{id} without its timeline."""
    client = await start()
    await available(client, "t1", "c")
    case_id = await sms(client, LINE)
    body = {"service": "billing", "theme": "delivery", "type": "complaint", "subtheme": "late"}
    steps = [
        ("POST", f"/api/cases/{case_id}/classify", {**body, "fields": {"contract": "K-1"}}),
        ("PATCH", f"/api/cases/{case_id}", {"type": "request", "subject": "Late parcel"}),
    ]
    for method, path, given in steps:
        answer = await call(client, method, path, given)
        shown = await case(client, case_id)
        del shown["timeline"]
        assert answer == shown, path
    assert answer["fields"] == {"contract": "K-1"} and answer["contact"]["phones"]
    await call(client, "POST", f"/api/cases/{case_id}/resolve")
    answer = await call(client, "POST", f"/api/cases/{case_id}/reopen")
    shown = await case(client, case_id)
    del shown["timeline"]
    assert answer == shown and answer["status"] in ("assigned", "in_progress")


async def test_a_reloaded_catalogue_is_the_one_checked(start: Start, tmp_path: Any) -> None:
    client = await start()
    case_id = await sms(client)
    body = {"theme": "delivery", "type": "request", "product": "unlimited"}
    refused = await call(client, "PATCH", f"/api/cases/{case_id}", body, status=422)
    assert refused["error"]["field"] == "product"
    path = tmp_path / "config.toml"
    text = path.read_text()
    path.write_text(text.replace('themes = ["tariffs"]', 'themes = ["tariffs", "delivery"]'))
    await call(client, "POST", "/api/admin/config/reload")
    answer = await call(client, "PATCH", f"/api/cases/{case_id}", body)
    assert (answer["theme"], answer["product"]) == ("delivery", "unlimited")
