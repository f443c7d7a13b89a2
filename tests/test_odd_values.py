"""Every odd value the validation still lets through is stored and then read back by every view.

A poisoned record is worse than a refused request (issue 12): extreme but valid times, empty
names, odd Unicode, long ids, unparseable phones and attachment types with parameters go in
through the public API and must come out of `GET /api/cases/{id}`, the case list, the contact
lookup and the attachment download without a 5xx.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from gateway.views import rfc3339
from tests.conftest import ADMIN, signed_sms

ODD_TEXT = "\u202eRTL\u202c e\u0301 \u200b\ufeff😀\U0010fffd \u2028 Ω≈ç √ 日本語 " + "x" * 2000
NOW = time.time()
TIMES = [
    "2000-01-01T00:00:00Z",
    "2000-01-01T00:00:00.000000001+00:00",
    datetime.fromtimestamp(NOW + 86_000, UTC).isoformat(),
    946_684_800,
    946_684_800.5,
    int(NOW + 86_000),
    "2024-02-29t12:00:00z",
]
SMS = [
    {"id": f"odd-time-{n}", "from": "+79161230001", "to": "+74950000099", "text": "t",
     "received_at": at}
    for n, at in enumerate(TIMES)
] + [
    {"id": "i" * 10_000, "from": "+79161230002", "to": "+74950000099", "text": ODD_TEXT},
    {"id": 2**63, "from": "not a number ☎", "to": "+74950000099", "text": ""},
    {"id": "odd-empty", "from": "0", "to": "☎", "text": " "},
]  # fmt: skip


async def read_back(client: TestClient, case_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/cases/{case_id}", headers=ADMIN)
    assert response.status == 200, await response.text()
    case: dict[str, Any] = await response.json()
    assert case["id"] == case_id and case["created_at"]
    for entry in case["timeline"]:
        assert entry["at"] is not None
    contact = case["contact"]
    for phone in contact["phones"]:
        found = await client.get("/api/contacts", params={"phone": phone}, headers=ADMIN)
        assert found.status == 200, await found.text()
    for email in contact["emails"]:
        found = await client.get("/api/contacts", params={"email": email}, headers=ADMIN)
        assert found.status == 200, await found.text()
    listed = await client.get("/api/cases", params={"contact": contact["id"]}, headers=ADMIN)
    assert listed.status == 200 and case_id in [c["id"] for c in (await listed.json())["cases"]]
    return case


async def test_odd_sms_values_are_stored_and_read_back(gateway: TestClient) -> None:
    for body in SMS:
        answer = await gateway.post("/hooks/sms", **signed_sms(body))
        assert answer.status == 200, (body, await answer.text())
        case = await read_back(gateway, (await answer.json())["case_id"])
        if "received_at" in body:
            received = [e.get("received_at") for e in case["timeline"]]
            assert all(isinstance(r, str) and r.endswith("Z") for r in received), received
    page = await gateway.get("/api/cases?limit=200", headers=ADMIN)
    assert page.status == 200


def odd_form() -> FormData:
    form = FormData()
    form.add_field("email", "Ü.Ser@例え.jp")
    form.add_field("name", "")
    form.add_field("message", ODD_TEXT)
    form.add_field('odd key; "q"', "odd \u2029 value")
    form.add_field(
        "file",
        b"\0\xff bytes",
        filename="n" * 251 + ".txt",  # the longest name taken
        content_type="text/plain; charset=utf-8",  # stored as text/plain: a parameter broke reads
    )
    form.add_field("doc", b"", filename="empty", content_type="application/vnd.a+json")
    return form


async def test_odd_form_values_and_attachments_read_back(gateway: TestClient) -> None:
    accept = {"Accept": "application/json"}
    answer = await gateway.post("/forms/contact", data=odd_form(), headers=accept)
    assert answer.status == 201, await answer.text()
    case_id = (await answer.json())["case_id"]
    case = await read_back(gateway, case_id)
    attachments = [a for e in case["timeline"] for a in e.get("attachments", [])]
    assert [a["type"] for a in attachments] == ["text/plain", "application/vnd.a+json"]
    for attachment in attachments:
        download = await gateway.get(attachment["url"], headers=ADMIN)
        assert download.status == 200, await download.text()
    assert (await gateway.get(attachments[0]["url"], headers=ADMIN)).content_type == "text/plain"


async def test_odd_manual_case_and_actions_read_back(gateway: TestClient) -> None:
    key = {**ADMIN, "Idempotency-Key": "k" * 255}
    body = {"contact": {"name": "", "phone": " +7 916 123-00-03 "}, "subject": "", "text": "\ufeff"}
    created = await gateway.post("/api/cases", json=body, headers=key)
    assert created.status == 201, await created.text()
    case_id = (await created.json())["id"]
    note = await gateway.post(f"/api/cases/{case_id}/note", json={"text": ODD_TEXT}, headers=ADMIN)
    assert note.status == 201, await note.text()
    explain = await gateway.post("/api/admin/explain", json={"case_id": case_id}, headers=ADMIN)
    assert explain.status == 200, await explain.text()
    case = await read_back(gateway, case_id)
    assert case["contact"]["name"] is None
    assert case["timeline"][-1]["text"] == ODD_TEXT


def test_times_are_shown_to_the_exact_millisecond() -> None:
    # 1764799999999 / 1000 as a float is 1764799999.9989998...: it used to show as .998
    assert rfc3339(1764799999999) == "2025-12-03T22:13:19.999Z"
    assert rfc3339("946684800000") == "2000-01-01T00:00:00.000Z"
    assert rfc3339(-62135596800000) == "0001-01-01T00:00:00.000Z"
    assert rfc3339("") is None and rfc3339("nan") is None and rfc3339(1e300) is None
