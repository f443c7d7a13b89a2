"""Moving timeline entries between cases (SPEC section 7), notes on one entry and editing them,
through the running gateway on a real Valkey: attachments follow the message, both timelines
say so, and concurrent moves of one entry from two gateways have exactly one winner."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import redis
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.http.app import build_app
from gateway.runtime.clock import SettableClock
from routing.keys import Keys
from tests.conftest import ADMIN, GatewayFactory, signed_sms
from tests.phone_calls import phone_event

ANNA = {"Authorization": "Bearer sample-token-anna"}
BORIS = {"Authorization": "Bearer sample-token-boris"}
JSON_CLIENT = {"Accept": "application/json"}
SCAN = b"%PDF-1.4 \x00\x01 scanned contract \xff"


async def available(client: TestClient, op: str) -> None:
    resp = await client.put(
        f"/api/operators/{op}/presence", json={"presence": "available"}, headers=ADMIN
    )
    assert resp.status == 200, await resp.text()


async def form_case(client: TestClient, email: str, text: str, attach: bool = False) -> int:
    """A web-form case (each submission is a new case) for the contact with `email`."""
    data = FormData(quote_fields=False)
    data.add_field("name", "Мария")
    data.add_field("email", email)
    data.add_field("message", text)
    if attach:
        data.add_field("file", SCAN, filename="договор.pdf", content_type="application/pdf")
    resp = await client.post("/forms/contact", data=data, headers=JSON_CLIENT)
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["case_id"])


async def timeline(client: TestClient, case_id: int) -> list[dict[str, Any]]:
    resp = await client.get(f"/api/cases/{case_id}", headers=ADMIN)
    assert resp.status == 200
    entries: list[dict[str, Any]] = (await resp.json())["timeline"]
    return entries


async def entry_with(client: TestClient, case_id: int, **match: Any) -> dict[str, Any]:
    found = [e for e in await timeline(client, case_id) if match.items() <= e.items()]
    assert len(found) == 1, found
    return found[0]


async def move(
    client: TestClient, case_id: int, entry: str, to_case: Any, headers: dict[str, str] = ANNA
) -> tuple[int, Any]:
    resp = await client.post(
        f"/api/cases/{case_id}/timeline/{entry}/move", json={"to_case": to_case}, headers=headers
    )
    return resp.status, await resp.json()


async def two_cases(client: TestClient, attach: bool = True) -> tuple[int, int, str]:
    email = f"m-{uuid.uuid4().hex[:8]}@example.org"
    await available(client, "anna")
    source = await form_case(client, email, "the contract, signed", attach=attach)
    target = await form_case(client, email, "about my contract")
    return source, target, email


async def test_a_message_with_an_attachment_moves_to_the_contacts_other_case(
    gateway: TestClient,
) -> None:
    source, target, _ = await two_cases(gateway)
    message = await entry_with(gateway, source, kind="message", text="the contract, signed")
    old_url = message["attachments"][0]["url"]
    assert (await gateway.get(old_url, headers=ANNA)).status == 200

    status, body = await move(gateway, source, message["id"], target)
    assert status == 200, body
    assert body["to_case"] == target

    left = await timeline(gateway, source)
    assert not [e for e in left if e.get("text") == "the contract, signed"]
    mark = [e for e in left if e["kind"] == "moved"]
    assert [(m["to_case"], m["id"], m["by"]) for m in mark] == [(target, message["id"], "anna")]
    arrived = await entry_with(gateway, target, kind="message", text="the contract, signed")
    assert arrived["id"] == body["entry"] and arrived["at"] == message["at"]
    came = await entry_with(gateway, target, kind="moved")
    assert (came["from_case"], came["entry"]) == (source, arrived["id"])
    ids = [e["id"] for e in await timeline(gateway, target)]
    assert len(ids) == len(set(ids))  # the new id is unique in the target

    (attachment,) = arrived["attachments"]
    assert attachment["url"].startswith(f"/api/cases/{target}/attachments/")
    assert (attachment["name"], attachment["size"]) == ("договор.pdf", len(SCAN))
    download = await gateway.get(attachment["url"], headers=ANNA)
    assert download.status == 200 and await download.read() == SCAN
    gone = await gateway.get(old_url, headers=ANNA)
    assert gone.status == 404
    assert (await gone.json())["error"]["code"] == "attachment_not_found"


async def test_concurrent_moves_of_one_entry_from_two_gateways_have_one_winner(
    make_gateway: GatewayFactory, config: Config
) -> None:
    first, second = await make_gateway(config), await make_gateway(config)
    source, target, email = await two_cases(first)
    third = await form_case(first, email, "a third case")
    message = await entry_with(first, source, kind="message", text="the contract, signed")
    moves = [
        move(client, source, message["id"], to)
        for _ in range(4)
        for client, to in ((first, target), (second, third))
    ]
    results = await asyncio.gather(*moves)
    winners = [body for status, body in results if status == 200]
    assert len(winners) == 1, results
    losers = {(status, body["error"]["code"]) for status, body in results if status != 200}
    assert losers == {(404, "entry_not_found")}
    won = winners[0]["to_case"]
    lost = third if won == target else target
    assert len([e for e in await timeline(first, won) if e.get("text") == message["text"]]) == 1
    assert not [e for e in await timeline(first, lost) if e.get("text") == message["text"]]
    assert not [e for e in await timeline(first, source) if e.get("text") == message["text"]]


async def test_what_cannot_move_and_who_may_move(gateway: TestClient) -> None:
    source, target, _ = await two_cases(gateway, attach=False)
    status_entry = await entry_with(gateway, source, kind="assignment")
    status, body = await move(gateway, source, status_entry["id"], target)
    assert (status, body["error"]["code"]) == (409, "entry_not_movable")
    for entry in ("999", "x1", "-1"):
        status, body = await move(gateway, source, entry, target)
        assert (status, body["error"]["code"]) == (404, "entry_not_found")
    message = await entry_with(gateway, source, kind="message")
    status, body = await move(gateway, source, message["id"], target, BORIS)
    assert (status, body["error"]["code"]) == (403, "not_yours")
    for bad in (source, "abc", 0, 99999):
        status, body = await move(gateway, source, message["id"], bad)
        assert (status, body["error"]["field"]) == (422, "to_case"), body
    for body, code, words in (  # MoveEntry: an integer, required (extra keys are ignored)
        ({}, "missing_field", "'to_case' is required."),
        ({"to_case": str(target)}, "invalid_field", "'to_case': Expected int, got str."),
        ({"to_case": True}, "invalid_field", "'to_case': Expected int, got bool."),
    ):
        resp = await gateway.post(
            f"/api/cases/{source}/timeline/{message['id']}/move", json=body, headers=ANNA
        )
        expected = {"code": code, "message": words, "field": "to_case"}
        assert (resp.status, (await resp.json())["error"]) == (422, expected), body
    other = await form_case(gateway, "someone-else@example.org", "not her case")
    status, body = await move(gateway, source, message["id"], other)
    assert (status, body["error"]["code"]) == (422, "other_contact")
    status, body = await move(gateway, source, message["id"], other, ADMIN)  # the admin may
    assert status == 200, body
    assert await entry_with(gateway, other, kind="moved", from_case=source, by="admin")


async def test_a_pending_reply_does_not_move(gateway: TestClient) -> None:
    await available(gateway, "anna")
    sender = "+7916" + str(uuid.uuid4().int)[:7]
    payload = {"id": uuid.uuid4().hex, "from": sender, "to": "+74950000000", "text": "hi"}
    resp = await gateway.post("/hooks/sms", **signed_sms(payload))
    source = int((await resp.json())["case_id"])
    manual = {"contact": {"phone": sender}, "text": "call me", "service": "billing"}
    resp = await gateway.post("/api/cases", json=manual, headers=ADMIN)
    target = (await resp.json())["id"]
    resp = await gateway.post(f"/api/cases/{source}/reply", json={"text": "ok"}, headers=ANNA)
    assert resp.status == 202, await resp.text()
    entry_id = (await resp.json())["entry_id"]
    status, body = await move(gateway, source, entry_id, target, ADMIN)
    assert (status, body["error"]["code"]) == (409, "delivery_pending")


async def test_notes_on_an_entry_are_edited_by_their_author_and_follow_it(
    gateway: TestClient,
) -> None:
    source, target, _ = await two_cases(gateway, attach=False)
    message = await entry_with(gateway, source, kind="message")
    url = f"/api/cases/{source}/timeline/{message['id']}/note"
    resp = await gateway.post(url, json={"text": "клиент прислал скан"}, headers=ANNA)
    assert resp.status == 201, await resp.text()
    note = await resp.json()
    assert (note["kind"], note["on"], note["operator"]) == ("note", message["id"], "anna")
    missing = await gateway.post(
        f"/api/cases/{source}/timeline/999/note", json={"text": "x"}, headers=ANNA
    )
    assert missing.status == 404
    empty = await gateway.post(url, json={"text": " "}, headers=ANNA)
    assert (empty.status, (await empty.json())["error"]["field"]) == (422, "text")
    number = await gateway.post(url, json={"text": 5}, headers=ANNA)  # CaseText decides
    assert (number.status, (await number.json())["error"]["message"]) == (
        422, "'text': Expected str, got int.",
    )  # fmt: skip

    edit = f"/api/cases/{source}/timeline/{note['id']}"
    resp = await gateway.patch(edit, json={"text": "not mine"}, headers=BORIS)
    assert (resp.status, (await resp.json())["error"]["code"]) == (403, "not_author")
    resp = await gateway.patch(edit, json={"text": "скан договора"}, headers=ANNA)
    assert resp.status == 200
    edited = await resp.json()
    assert edited["text"] == "скан договора" and edited["edited_at"] is not None
    resp = await gateway.patch(
        f"/api/cases/{source}/timeline/{message['id']}", json={"text": "x"}, headers=ANNA
    )
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "not_a_note")

    status, body = await move(gateway, source, note["id"], target)  # a note on an entry stays
    assert (status, body["error"]["code"]) == (409, "entry_not_movable")
    status, body = await move(gateway, source, message["id"], target)
    assert status == 200
    followed = await entry_with(gateway, target, kind="note", on=body["entry"])
    assert followed["text"] == "скан договора"
    assert not [e for e in await timeline(gateway, source) if e["kind"] == "note"]


async def test_a_moved_calls_later_events_update_it_in_its_new_case(gateway: TestClient) -> None:
    await available(gateway, "anna")
    caller = "+7916" + str(uuid.uuid4().int)[:7]

    def event(name: str, n: int = 0, **more: Any) -> dict[str, Any]:
        return {"id": f"mv-{name}-{n}", "event": name, "call_id": "mv-call", "from": caller,
                "to": "+74950000010", **more}  # fmt: skip

    source = (await phone_event(gateway, **event("ringing")))["case_id"]
    await phone_event(gateway, **event("answered", operator="anna"))
    await phone_event(gateway, **event("ended", duration=30))
    manual = {"contact": {"phone": caller}, "text": "follow-up", "service": "billing"}
    resp = await gateway.post("/api/cases", json=manual, headers=ADMIN)
    target = (await resp.json())["id"]
    call = await entry_with(gateway, source, kind="call")
    status, body = await move(gateway, source, call["id"], target, ADMIN)
    assert status == 200, body

    recording = "https://pbx.example.com/rec/mv.mp3"
    await phone_event(gateway, **event("ended", 1, duration=30, recording_url=recording))
    moved = await entry_with(gateway, target, kind="call")
    assert (moved["id"], moved["recording_url"]) == (body["entry"], recording)
    assert not [e for e in await timeline(gateway, source) if e["kind"] == "call"]
    assert await entry_with(gateway, source, kind="moved", id=call["id"], to_case=target)


async def test_a_call_entry_stored_without_its_provider_is_read_and_moved(
    gateway: TestClient, sync_redis: redis.Redis, keys: Keys
) -> None:
    """Call entries stored before they named their provider: shown with `provider` null, and a
    move still finds the call (by the hash naming the case and entry) for its later events."""
    await available(gateway, "anna")
    caller = "+7916" + str(uuid.uuid4().int)[:7]

    def event(name: str, n: int = 0, **more: Any) -> dict[str, Any]:
        return {"id": f"old-{name}-{n}", "event": name, "call_id": "old-call", "from": caller,
                "to": "+74950000010", **more}  # fmt: skip

    source = (await phone_event(gateway, **event("ringing")))["case_id"]
    await phone_event(gateway, **event("answered", operator="anna"))
    await phone_event(gateway, **event("ended", duration=30))
    stored = sync_redis.lrange(keys.timeline(source), 0, -1)
    index = next(i for i, raw in enumerate(stored) if json.loads(raw)["k"] == "call")
    old_shape = json.loads(stored[index])
    assert old_shape.pop("provider") == "phone"
    sync_redis.lset(keys.timeline(source), index, json.dumps(old_shape))

    call = await entry_with(gateway, source, kind="call")
    assert (call["provider"], call["duration"]) == (None, 30)
    history = await gateway.get(f"/api/cases/{source}/history?format=csv", headers=ADMIN)
    assert history.status == 200 and "old-call" in await history.text()
    manual = {"contact": {"phone": caller}, "text": "follow-up", "service": "billing"}
    target = (await (await gateway.post("/api/cases", json=manual, headers=ADMIN)).json())["id"]
    status, body = await move(gateway, source, call["id"], target, ADMIN)
    assert status == 200, body
    assert (await entry_with(gateway, target, kind="call"))["provider"] == "phone"
    recording = "https://pbx.example.com/rec/old.mp3"
    await phone_event(gateway, **event("ended", 1, duration=30, recording_url=recording))
    moved = await entry_with(gateway, target, kind="call")
    assert (moved["id"], moved["recording_url"]) == (body["entry"], recording)
    assert await entry_with(gateway, source, kind="moved", id=call["id"], to_case=target)


async def test_entries_are_found_wherever_they_are_after_moves(gateway: TestClient) -> None:
    source, target, _ = await two_cases(gateway, attach=False)
    for n in range(40):
        await gateway.post(f"/api/cases/{source}/note", json={"text": f"n{n}"}, headers=ANNA)
    notes = [e for e in await timeline(gateway, source) if e["kind"] == "note"]
    for picked in (notes[0], notes[-1], notes[20], notes[21], notes[5]):
        status, body = await move(gateway, source, picked["id"], target)
        assert status == 200, body
    moved = {n["id"] for n in (notes[0], notes[-1], notes[20], notes[21], notes[5])}
    for note in notes:  # every entry left is still found, every moved one is gone
        resp = await gateway.post(
            f"/api/cases/{source}/timeline/{note['id']}/note", json={"text": "ok"}, headers=ANNA
        )
        assert resp.status == 201, note
        status, body = await move(gateway, source, note["id"], target)
        assert status == (404 if note["id"] in moved else 200), (note, body)
    texts = [e["text"] for e in await timeline(gateway, target) if e["kind"] == "note"]
    assert sorted(t for t in texts if t != "ok") == sorted(n["text"] for n in notes)


async def test_after_resolve_only_the_edit_window_lets_operators_note_or_move(
    aiohttp_client: Any, config: Config, redis_url: str, keys: Keys
) -> None:
    clock = SettableClock(1_780_000_000_000)
    client: TestClient = await aiohttp_client(build_app(config, redis_url, keys, clock=clock))
    source, target, _ = await two_cases(client, attach=False)
    message = await entry_with(client, source, kind="message")
    resp = await client.post(f"/api/cases/{source}/resolve", headers=ANNA)
    assert resp.status == 200, await resp.text()
    note_url = f"/api/cases/{source}/timeline/{message['id']}/note"

    clock.advance(4 * 60 + 59)
    resp = await client.post(note_url, json={"text": "in time"}, headers=ANNA)
    assert resp.status == 201, await resp.text()
    note = await resp.json()
    clock.advance(2)  # 5 min 1 s after resolve
    resp = await client.post(note_url, json={"text": "late"}, headers=ANNA)
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "edit_window_closed")
    edit = f"/api/cases/{source}/timeline/{note['id']}"
    resp = await client.patch(edit, json={"text": "late edit"}, headers=ANNA)
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "edit_window_closed")
    status, body = await move(client, target, "1", source)  # into the resolved case: too
    assert (status, body["error"]["code"]) == (409, "edit_window_closed")
    resp = await client.post(note_url, json={"text": "the admin may"}, headers=ADMIN)
    assert resp.status == 201
    status, body = await move(client, source, message["id"], target, ADMIN)
    assert status == 200, body
