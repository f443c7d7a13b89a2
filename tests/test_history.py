"""`GET /api/cases/{id}/history` through the running gateway (SPEC section 7): filters, the CSV
export read back with Python's csv module (BOM, RFC 4180, non-ASCII intact), JSON lines, and
the pages of a long timeline streamed in order."""

# ruff: noqa: RUF001  (Cyrillic test text has letters that look Latin)

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.http.app import build_app
from gateway.runtime.clock import SettableClock
from routing.keys import Keys
from tests.conftest import ADMIN, signed_sms

ANNA = {"Authorization": "Bearer sample-token-anna"}
START = 1_780_000_000_000  # 2026-05-28T20:26:40Z
TRICKY = 'Здравствуйте, "оператор"!\nСчёт №17; 😀'
FORMULA = '=HYPERLINK("http://x")'


async def started(
    aiohttp_client: Any, config: Config, redis_url: str, keys: Keys, clock: SettableClock
) -> TestClient:
    client: TestClient = await aiohttp_client(build_app(config, redis_url, keys, clock=clock))
    return client


async def post(client: TestClient, path: str, body: dict[str, Any], status: int) -> Any:
    resp = await client.post(path, json=body, headers=ANNA)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def a_case(client: TestClient, clock: SettableClock) -> int:
    """An SMS case with Anna: the customer's message, her accept, notes a minute apart, a reply."""
    await client.put("/api/operators/anna/presence", json={"presence": "available"}, headers=ADMIN)
    sender = "+7916" + str(uuid.uuid4().int)[:7]
    payload = {"id": uuid.uuid4().hex, "from": sender, "to": "+74950000000", "text": TRICKY}
    resp = await client.post("/hooks/sms", **signed_sms(payload))
    case_id = int((await resp.json())["case_id"])
    clock.advance(60)
    await post(client, f"/api/cases/{case_id}/accept", {}, 200)
    for text in ("первая заметка", FORMULA, "третья, с запятой"):
        clock.advance(60)
        await post(client, f"/api/cases/{case_id}/note", {"text": text}, 201)
    clock.advance(60)
    await post(client, f"/api/cases/{case_id}/reply", {"text": "Ответ клиенту"}, 202)
    return case_id


async def timeline(client: TestClient, case_id: int) -> list[dict[str, Any]]:
    resp = await client.get(f"/api/cases/{case_id}", headers=ADMIN)
    entries: list[dict[str, Any]] = (await resp.json())["timeline"]
    return entries


async def export(client: TestClient, case_id: int, **query: str) -> tuple[str, bytes]:
    headers = {**ANNA, **({"Accept": query.pop("accept")} if "accept" in query else {})}
    resp = await client.get(f"/api/cases/{case_id}/history", params=query, headers=headers)
    assert resp.status == 200, await resp.text()
    return resp.headers["Content-Type"], await resp.read()


def csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8")[1:]
    assert "\r\n" in text
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def test_csv_export_with_a_filter_reads_back_in_pythons_csv_module(
    aiohttp_client: Any, config: Config, redis_url: str, keys: Keys
) -> None:
    clock = SettableClock(START)
    client = await started(aiohttp_client, config, redis_url, keys, clock)
    case_id = await a_case(client, clock)
    kind, body = await export(client, case_id, format="csv", kind="note")
    assert kind == "text/csv; charset=utf-8"
    rows = csv_rows(body)
    assert [(r["kind"], r["by"], r["text"]) for r in rows] == [
        ("note", "anna", "первая заметка"),
        ("note", "anna", "'" + FORMULA),  # a formula is not run by the spreadsheet
        ("note", "anna", "третья, с запятой"),
    ]
    notes = [e for e in await timeline(client, case_id) if e["kind"] == "note"]
    assert [r["id"] for r in rows] == [e["id"] for e in notes]
    assert [r["at"] for r in rows] == [e["at"] for e in notes]

    kind, body = await export(client, case_id, accept="text/csv", kind="message")
    assert kind == "text/csv; charset=utf-8"
    rows = csv_rows(body)
    assert [(r["direction"], r["text"]) for r in rows] == [("in", TRICKY), ("out", "Ответ клиенту")]
    assert rows[0]["from"].startswith("+7916")  # a phone number is data, not a formula
    assert json.loads(rows[1]["details"])["delivery"] == "queued"


async def test_since_until_and_by_filters_as_jsonl_and_json(
    aiohttp_client: Any, config: Config, redis_url: str, keys: Keys
) -> None:
    clock = SettableClock(START)
    client = await started(aiohttp_client, config, redis_url, keys, clock)
    case_id = await a_case(client, clock)
    everything = await timeline(client, case_id)
    kind, body = await export(client, case_id)
    assert kind == "application/json; charset=utf-8"
    assert json.loads(body) == {"case_id": case_id, "entries": everything}

    since, until = "2026-05-28T20:28:40Z", "2026-05-28T23:29:40+03:00"  # minutes 2 and 3
    kind, body = await export(client, case_id, format="jsonl", since=since, until=until)
    assert kind == "application/x-ndjson; charset=utf-8"
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert [e["text"] for e in lines] == ["первая заметка", FORMULA]
    assert all("2026-05-28T20:28:40" <= e["at"] <= "2026-05-28T20:29:40.000Z" for e in lines)

    kind, body = await export(client, case_id, format="jsonl", by="me", kind="status,note")
    by_anna = [json.loads(line) for line in body.decode().splitlines()]
    expected = [
        e for e in everything
        if e["kind"] in ("status", "note") and "anna" in (e.get("by"), e.get("operator"))
    ]  # fmt: skip
    assert by_anna == expected and len(expected) == 4
    kind, body = await export(client, case_id, format="json", since="2030-01-01T00:00:00Z")
    assert json.loads(body) == {"case_id": case_id, "entries": []}


async def test_bad_filters_name_their_field(
    aiohttp_client: Any, config: Config, redis_url: str, keys: Keys
) -> None:
    clock = SettableClock(START)
    client = await started(aiohttp_client, config, redis_url, keys, clock)
    case_id = await a_case(client, clock)
    for query, field in (
        ({"kind": "bogus"}, "kind"),
        ({"kind": "note,"}, None),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-01-01T00:00:00"}, "until"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"format": "xml"}, "format"),
        ({"by": " "}, "by"),
    ):
        resp = await client.get(f"/api/cases/{case_id}/history", params=query, headers=ANNA)
        if field is None:
            assert resp.status == 200
            continue
        assert resp.status == 422, query
        assert (await resp.json())["error"]["field"] == field
    resp = await client.get("/api/cases/99999/history", headers=ANNA)
    assert (resp.status, (await resp.json())["error"]["code"]) == (404, "case_not_found")
    resp = await client.get(f"/api/cases/{case_id}/history")
    assert resp.status == 401


async def test_a_long_timeline_streams_every_page_in_order(
    aiohttp_client: Any, config: Config, redis_url: str, keys: Keys
) -> None:
    clock = SettableClock(START)
    client = await started(aiohttp_client, config, redis_url, keys, clock)
    case_id = await a_case(client, clock)
    for batch in range(60):  # 1,200 notes: three pages of 500
        await asyncio.gather(
            *(
                post(client, f"/api/cases/{case_id}/note", {"text": f"n{batch}-{i}"}, 201)
                for i in range(20)
            )
        )
    _, body = await export(client, case_id, format="jsonl", kind="note")
    ids = [json.loads(line)["id"] for line in body.decode().splitlines()]
    notes = [e["id"] for e in await timeline(client, case_id) if e["kind"] == "note"]
    assert ids == notes and len(ids) == 1203
    _, body = await export(client, case_id, format="csv")
    assert len(csv_rows(body)) == len(await timeline(client, case_id))
