"""Shared steps of the call tests: signed generic phone events, presence, reads through the API."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from channels.signature import sign

ADMIN = {"Authorization": "Bearer change-me-admin"}
PHONE_SECRET = "sample-phone-secret"


async def available(client: TestClient, *operators: str) -> None:
    for operator in operators:
        response = await client.put(
            f"/api/operators/{operator}/presence", json={"presence": "available"}, headers=ADMIN
        )
        assert response.status == 200, await response.text()


async def phone_event(
    client: TestClient, expect: int = 200, secret: str = PHONE_SECRET, **event: Any
) -> Any:
    body = json.dumps(event).encode()
    headers = {"X-Intake-Signature": sign(secret, body), "Content-Type": "application/json"}
    response = await client.post("/hooks/phone", data=body, headers=headers)
    assert response.status == expect, await response.text()
    return await response.json()


async def case(client: TestClient, case_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/cases/{case_id}", headers=ADMIN)
    assert response.status == 200, await response.text()
    found: dict[str, Any] = await response.json()
    return found


async def load(client: TestClient, operator: str) -> dict[str, int]:
    response = await client.get(f"/api/operators/{operator}", headers=ADMIN)
    assert response.status == 200, await response.text()
    found: dict[str, int] = (await response.json())["load"]
    return found


def calls_of(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry for entry in found["timeline"] if entry["kind"] == "call"]
