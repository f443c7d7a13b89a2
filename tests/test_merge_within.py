"""One request per contact conversation (SPEC section 7, `[cases].merge_within`): a manual case
for a contact with an open case in the same service opened within the window is 409
`duplicate_case` naming it, unless forced; decided in the creating Lua step, so concurrent
creates make one case; transfers move the case and never make a second one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.http.app import build_app
from gateway.runtime.clock import SettableClock
from routing.keys import Keys
from tests.conftest import ADMIN, SAMPLE, signed_sms

ANNA = {"Authorization": "Bearer sample-token-anna"}
START = 1_780_000_000_000


async def started(
    aiohttp_client: Any, write_config: Callable[[str], Config], redis_url: str, keys: Keys
) -> tuple[TestClient, SettableClock]:
    text = SAMPLE.read_text(encoding="utf-8")
    old = 'merge_within = "0s"'  # the sample's: off
    assert old in text
    config = write_config(text.replace(old, 'merge_within = "1h"', 1))
    assert config.merge_within == 3600
    clock = SettableClock(START)
    client: TestClient = await aiohttp_client(build_app(config, redis_url, keys, clock=clock))
    return client, clock


def digits() -> str:
    return str(uuid.uuid4().int)[:7]


async def create(
    client: TestClient, contact: dict[str, str], headers: dict[str, str] | None = None, **extra: Any
) -> tuple[int, Any]:
    body = {"contact": contact, "text": "please call", **extra}
    resp = await client.post("/api/cases", json=body, headers={**ANNA, **(headers or {})})
    return resp.status, await resp.json()


async def test_duplicate_within_the_window_then_force_other_service_and_later(
    aiohttp_client: Any, write_config: Callable[[str], Config], redis_url: str, keys: Keys
) -> None:
    client, clock = await started(aiohttp_client, write_config, redis_url, keys)
    n = digits()
    status, first = await create(client, {"phone": f"+7916{n}"})
    assert status == 201
    email = f"{n}@example.org"
    status, body = await create(client, {"phone": f"8 (916) {n}", "email": email})
    assert status == 409
    assert body["error"]["code"] == "duplicate_case"
    assert body["error"]["case_id"] == first["id"]
    resp = await client.get("/api/contacts", params={"phone": f"+7916{n}"}, headers=ANNA)
    found = await resp.json()
    assert found["contact"]["emails"] == []  # the refused request wrote nothing
    assert [c["id"] for c in found["open_cases"]] == [first["id"]]

    status, forced = await create(client, {"phone": f"+7916{n}"}, force=True)
    assert status == 201 and forced["id"] != first["id"]
    status, billing = await create(client, {"phone": f"+7916{n}"}, service="billing")
    assert (status, billing["service"]) == (201, "billing")
    clock.advance(59 * 60)
    status, body = await create(client, {"phone": f"+7916{n}"})
    assert (status, body["error"]["case_id"]) == (409, forced["id"])  # the newest open one
    clock.advance(2 * 60)
    status, later = await create(client, {"phone": f"+7916{n}"})
    assert status == 201 and later["id"] > billing["id"]
    status, body = await create(client, {"phone": f"+7916{n}"}, force="yes")
    assert (status, body["error"]["field"]) == (422, "force")


async def test_a_resolved_case_and_a_repeated_delivery_are_no_duplicates(
    aiohttp_client: Any, write_config: Callable[[str], Config], redis_url: str, keys: Keys
) -> None:
    client, _ = await started(aiohttp_client, write_config, redis_url, keys)
    contact = {"email": f"{digits()}@example.org"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    status, first = await create(client, contact, headers=key)
    assert status == 201
    status, again = await create(client, contact, headers=key)  # the provider's retry
    assert (status, again["id"]) == (201, first["id"])
    resp = await client.post(f"/api/cases/{first['id']}/resolve", headers=ADMIN)
    assert resp.status == 200
    status, _ = await create(client, contact)
    assert status == 201


async def test_concurrent_manual_cases_for_one_contact_make_one_case(
    aiohttp_client: Any, write_config: Callable[[str], Config], redis_url: str, keys: Keys
) -> None:
    client, _ = await started(aiohttp_client, write_config, redis_url, keys)
    contact = {"phone": f"+7916{digits()}"}
    results = await asyncio.gather(*(create(client, contact) for _ in range(8)))
    created = [body["id"] for status, body in results if status == 201]
    assert len(created) == 1, results
    refused = {(s, b["error"]["code"], b["error"]["case_id"]) for s, b in results if s != 201}
    assert refused == {(409, "duplicate_case", created[0])}


async def test_a_transfer_moves_the_case_and_never_duplicates_it(
    aiohttp_client: Any, write_config: Callable[[str], Config], redis_url: str, keys: Keys
) -> None:
    client, _ = await started(aiohttp_client, write_config, redis_url, keys)
    number = f"+7916{digits()}"

    async def sms(text: str) -> int:
        payload = {"id": uuid.uuid4().hex, "from": number, "to": "+74950000000", "text": text}
        resp = await client.post("/hooks/sms", **signed_sms(payload))
        assert resp.status == 200
        return int((await resp.json())["case_id"])

    case_id = await sms("my internet is down")
    for service in ("billing", "support", "billing"):
        resp = await client.post(
            f"/api/cases/{case_id}/transfer", json={"service": service}, headers=ADMIN
        )
        assert resp.status == 200, await resp.text()
    assert await sms("still down") == case_id
    resp = await client.get("/api/contacts", params={"phone": number}, headers=ANNA)
    found = await resp.json()
    assert [(c["id"], c["service"]) for c in found["open_cases"]] == [(case_id, "billing")]
    status, body = await create(client, {"phone": number}, service="billing")
    assert (status, body["error"]["case_id"]) == (409, case_id)
