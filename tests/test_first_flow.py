"""A first end-to-end pass (SMS in, operator available, accept, resolve) and /metrics."""

from __future__ import annotations

import redis
from aiohttp.test_utils import TestClient

from routing.keys import Keys
from tests.conftest import ADMIN, signed_sms
from tests.metrics_text import sample


async def test_sms_is_assigned_when_operator_becomes_available(gateway: TestClient) -> None:
    sms = {"id": "m1", "from": "+79161234567", "to": "+74950000000", "text": "hello"}
    resp = await gateway.post("/hooks/sms", **signed_sms(sms))
    assert resp.status == 200
    case_id = (await resp.json())["case_id"]
    case = await (await gateway.get(f"/api/cases/{case_id}", headers=ADMIN)).json()
    assert case["status"] == "queued"
    resp = await gateway.put(
        "/api/operators/anna/presence", json={"presence": "available"}, headers=ADMIN
    )
    assert resp.status == 200
    case = await (await gateway.get(f"/api/cases/{case_id}", headers=ADMIN)).json()
    assert (case["status"], case["assignee"]) == ("assigned", "anna")
    resp = await gateway.post(f"/api/cases/{case_id}/accept", headers=ADMIN)
    assert (await resp.json())["status"] == "in_progress"
    resp = await gateway.post(f"/api/cases/{case_id}/resolve", headers=ADMIN)
    assert (await resp.json())["status"] == "resolved"


async def test_metrics_report_cases_and_operators(gateway: TestClient) -> None:
    sms = {"id": "m2", "from": "+79161234568", "to": "+74950000000", "text": "hi"}
    assert (await gateway.post("/hooks/sms", **signed_sms(sms))).status == 200
    resp = await gateway.get("/metrics", headers=ADMIN)
    assert resp.status == 200
    body = await resp.text()
    assert sample(body, "intake_cases_created_total") == 1
    assert sample(body, "intake_cases", status="queued") == 1
    assert sample(body, "intake_queued", service="support", channel="sms") == 1
    assert sample(body, "intake_operator_presence", operator="anna") == 0
    assert (await gateway.get("/metrics")).status == 401


async def test_damaged_data_gives_a_json_500_without_a_trace(
    gateway: TestClient, keys: Keys, sync_redis: redis.Redis
) -> None:
    sync_redis.set(keys.case(7), "not a hash")  # as if someone wrote over it by hand
    resp = await gateway.get("/api/cases/7", headers=ADMIN)
    assert resp.status == 500
    body = await resp.json()
    assert body == {
        "error": {
            "code": "internal_error",
            "message": "Something went wrong on our side; it is logged.",
        }
    }
