"""The console's folders through the running gateway (SPEC section 7): `GET /api/cases` with
`created_by`, `owner` (`me` is the caller), `priority`, combined with the other filters and
cursor pages, read from index sets the creating and owner-changing steps keep."""

from __future__ import annotations

import uuid
from typing import Any

import redis
from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.http.app_keys import RUNTIME
from routing import upgrades
from routing.keys import Keys
from tests.conftest import ADMIN, GatewayFactory, signed_sms

ANNA = {"Authorization": "Bearer sample-token-anna"}
BORIS = {"Authorization": "Bearer sample-token-boris"}


def phone() -> str:
    return "+7916" + str(uuid.uuid4().int)[:7]


async def manual(client: TestClient, who: dict[str, str], number: str, **extra: Any) -> int:
    body = {"contact": {"phone": number}, "text": "call me back", **extra}
    resp = await client.post("/api/cases", json=body, headers=who)
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["id"])


async def sms(client: TestClient, number: str) -> tuple[int, str]:
    payload = {"id": uuid.uuid4().hex, "from": number, "to": "+74950000000", "text": "hello"}
    resp = await client.post("/hooks/sms", **signed_sms(payload))
    body = await resp.json()
    return int(body["case_id"]), str(body["contact_id"])


async def listed(client: TestClient, who: dict[str, str], **query: str) -> list[int]:
    resp = await client.get("/api/cases", params=query, headers=who)
    assert resp.status == 200, await resp.text()
    return [case["id"] for case in (await resp.json())["cases"]]


async def set_owner(client: TestClient, contact: str, owner: str | None) -> None:
    resp = await client.patch(f"/api/contacts/{contact}", json={"owner": owner}, headers=ADMIN)
    assert resp.status == 200, await resp.text()


async def test_created_by_me_an_operator_the_admin_or_a_channel(gateway: TestClient) -> None:
    mine = [await manual(gateway, ANNA, phone()), await manual(gateway, ANNA, phone())]
    boris = await manual(gateway, BORIS, phone())
    admins = await manual(gateway, ADMIN, phone())
    by_sms, _ = await sms(gateway, phone())
    assert await listed(gateway, ANNA, created_by="me") == mine[::-1]
    assert await listed(gateway, ANNA, created_by="boris") == [boris]
    assert await listed(gateway, ANNA, created_by="phone") == [admins]  # the admin's: its channel
    assert await listed(gateway, ANNA, created_by="sms") == [by_sms]
    assert await listed(gateway, ANNA, created_by="nobody") == []
    first = await gateway.get("/api/cases", params={"created_by": "me", "limit": "1"}, headers=ANNA)
    page = await first.json()
    assert [c["id"] for c in page["cases"]] == [mine[1]] and page["next_cursor"]
    params = {"created_by": "me", "limit": "1", "cursor": page["next_cursor"]}
    assert await listed(gateway, ANNA, **params) == [mine[0]]


async def test_owner_follows_the_contacts_owner_as_it_changes(gateway: TestClient) -> None:
    number = phone()
    first, contact = await sms(gateway, number)
    second = await manual(gateway, ADMIN, number, service="billing")
    other, _ = await sms(gateway, phone())
    assert await listed(gateway, BORIS, owner="me") == []
    await set_owner(gateway, contact, "boris")
    assert await listed(gateway, BORIS, owner="me") == [second, first]
    third = await manual(gateway, ANNA, number, service="billing")  # a new case joins the folder
    assert await listed(gateway, BORIS, owner="me") == [third, second, first]
    assert await listed(gateway, ANNA, owner="boris", created_by="me") == [third]
    await set_owner(gateway, contact, "anna")
    assert await listed(gateway, BORIS, owner="me") == []
    assert await listed(gateway, ANNA, owner="me") == [third, second, first]
    await set_owner(gateway, contact, None)
    assert await listed(gateway, ANNA, owner="anna") == []
    assert other not in await listed(gateway, ANNA, owner="anna")


async def test_accepting_a_sticky_case_makes_the_owner_and_fills_the_folder(
    gateway: TestClient,
) -> None:
    resp = await gateway.put(
        "/api/operators/anna/presence", json={"presence": "available"}, headers=ANNA
    )
    assert resp.status == 200
    case_id, _ = await sms(gateway, phone())  # support: sticky_owner
    assert await listed(gateway, ANNA, owner="me") == []
    resp = await gateway.post(f"/api/cases/{case_id}/accept", headers=ANNA)
    assert resp.status == 200, await resp.text()
    assert await listed(gateway, ANNA, owner="me") == [case_id]
    assert await listed(gateway, ANNA, owner="me", status="in_progress") == [case_id]
    assert await listed(gateway, ANNA, owner="me", status="queued") == []


async def test_priority_alone_and_combined(gateway: TestClient) -> None:
    urgent = await manual(gateway, ANNA, phone(), type="complaint")
    await manual(gateway, ANNA, phone(), type="consultation")
    boris_urgent = await manual(gateway, BORIS, phone(), type="complaint")
    found = await listed(gateway, ANNA, priority="1")
    assert urgent in found and boris_urgent in found
    assert await listed(gateway, ANNA, priority="1", created_by="me") == [urgent]
    assert await listed(gateway, ANNA, priority="1", created_by="me", service="billing") == []
    assert await listed(gateway, ANNA, priority="1", created_by="me", status="queued") == [urgent]
    for bad in ("0", "high", "-1", "1.5"):
        resp = await gateway.get("/api/cases", params={"priority": bad}, headers=ANNA)
        assert resp.status == 422
        assert (await resp.json())["error"]["field"] == "priority"


async def every_page(client: TestClient, who: dict[str, str], **query: str) -> list[int]:
    found: list[int] = []
    cursor = ""
    while True:
        params = {**query, "limit": "200", **({"cursor": cursor} if cursor else {})}
        resp = await client.get("/api/cases", params=params, headers=who)
        page = await resp.json()
        assert resp.status == 200, page
        found += [case["id"] for case in page["cases"]]
        if not page["next_cursor"]:
            return found
        cursor = page["next_cursor"]


def store_old_case(sync_redis: redis.Redis, keys: Keys, case_id: int, **fields: str) -> None:
    """A case as a version before the folders' indexes stored it: hash, contact and status
    index, and no `by:`/`own:` entry."""
    contact = f"c{case_id}"
    sync_redis.hset(keys.contact(contact), mapping={"n": "Old", "ow": "boris"})
    sync_redis.zadd(keys.contact_cases(contact), {str(case_id): case_id})
    case = {"st": "queued", "ch": "sms", "sv": "support", "ty": "request", "pr": "2",
            "ct": contact, "ca": "1780000000000", **fields}  # fmt: skip
    sync_redis.hset(keys.case(case_id), mapping=case)
    sync_redis.zadd(keys.status("queued"), {str(case_id): case_id})


async def test_cases_stored_before_the_folders_are_put_in_them_at_start(
    make_gateway: GatewayFactory, config: Config, sync_redis: redis.Redis, keys: Keys
) -> None:
    count = upgrades.BATCH + 2  # more than one step
    for case_id in range(1, count + 1):
        store_old_case(sync_redis, keys, case_id, **({"cb": "anna"} if case_id % 2 else {}))
    sync_redis.set(keys.case_seq, count)
    sync_redis.delete(keys.upgrades)
    gateway = await make_gateway(config)
    assert sync_redis.hget(keys.upgrades, "folders") == b"done"
    by_anna = [i for i in range(count, 0, -1) if i % 2]
    assert await every_page(gateway, ANNA, created_by="me") == by_anna
    by_sms = [i for i in range(count, 0, -1) if not i % 2]
    assert await every_page(gateway, ANNA, created_by="sms") == by_sms
    assert await every_page(gateway, BORIS, owner="me") == list(range(count, 0, -1))
    # done once: a later start (another process) handles nothing, and a second pass over
    # the same cases changes no index
    assert await upgrades.run(gateway.app[RUNTIME].scripts) == {"folders": 0}
    sync_redis.hdel(keys.upgrades, "folders")
    assert await upgrades.run(gateway.app[RUNTIME].scripts) == {"folders": count}
    assert sync_redis.zcard(keys.owned_cases("boris")) == count
    assert sync_redis.zcard(keys.created_cases("anna")) == len(by_anna)
    # new cases index themselves as ever, next to the upgraded ones
    new = await manual(gateway, ANNA, phone())
    assert (await every_page(gateway, ANNA, created_by="me"))[:2] == [new, by_anna[0]]
