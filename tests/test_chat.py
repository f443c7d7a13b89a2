"""The visitor chat over real WebSockets: hello, messages to the operator, replies back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import ClientSession, WSMsgType, WSServerHandshakeError
from aiohttp.test_utils import TestClient

from gateway.config import Config
from tests.chat_client import ANNA, ORIGIN, frame, say, visit
from tests.conftest import ADMIN, SAMPLE, GatewayFactory
from tests.helpers import Serve
from tests.test_events import next_event


async def available(client: TestClient) -> None:
    resp = await client.put(
        "/api/operators/anna/presence", json={"presence": "available"}, headers=ANNA
    )
    assert resp.status == 200


async def accept_offer(client: TestClient, stream: Any, case_id: int) -> None:
    kind, event = await next_event(stream)
    assert (kind, event["case_id"]) == ("offered", case_id)
    resp = await client.post(
        f"/api/cases/{case_id}/accept", json={"offer_id": event["offer_id"]}, headers=ANNA
    )
    assert resp.status == 200, await resp.text()


async def timeline(client: TestClient, case_id: int) -> list[dict[str, Any]]:
    case = await (await client.get(f"/api/cases/{case_id}", headers=ANNA)).json()
    entries: list[dict[str, Any]] = case["timeline"]
    return entries


async def until_sent(client: TestClient, case_id: int, text: str) -> dict[str, Any]:
    for _ in range(100):
        for entry in await timeline(client, case_id):
            if entry.get("text") == text and entry.get("delivery") == "sent":
                return entry
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} never marked sent: {await timeline(client, case_id)}")


async def test_a_chat_goes_to_the_operator_and_the_reply_comes_back(gateway: TestClient) -> None:
    await available(gateway)
    stream = await gateway.get("/api/operators/anna/events", headers=ANNA)
    ws, welcome, status = await visit(gateway, name="Olga")
    case_id = welcome["case_id"]
    assert len(welcome["session"]) >= 16 and status == {"type": "status", "online": True}
    await accept_offer(gateway, stream, case_id)
    echo = await say(ws, "Where is my order?")
    assert echo["text"] == "Where is my order?" and echo["at"].endswith("Z")
    assert await next_event(stream) == ("message", {"case_id": case_id})
    reply = {"text": "Let me look."}
    resp = await gateway.post(f"/api/cases/{case_id}/reply", json=reply, headers=ANNA)
    assert resp.status == 202, await resp.text()
    got = await frame(ws)
    assert (got["type"], got["from"], got["text"]) == ("message", "operator", "Let me look.")
    entry = await until_sent(gateway, case_id, "Let me look.")
    assert (entry["direction"], entry["operator"], entry["channel"]) == ("out", "anna", "chat")
    case = await (await gateway.get(f"/api/cases/{case_id}", headers=ANNA)).json()
    assert (case["channel"], case["contact"]["name"]) == ("chat", "Olga")
    assert case["subject"] == "Olga (Customer support)"
    ins = [e["text"] for e in case["timeline"] if e.get("direction") == "in" and "text" in e]
    assert ins == ["Where is my order?"]
    await ws.close()
    stream.close()


async def test_reconnecting_resumes_the_case_and_replays_what_was_missed(
    gateway: TestClient,
) -> None:
    await available(gateway)
    stream = await gateway.get("/api/operators/anna/events", headers=ANNA)
    ws, welcome, _ = await visit(gateway)
    case_id, session = welcome["case_id"], welcome["session"]
    await accept_offer(gateway, stream, case_id)
    seen = (await say(ws, "first"))["id"]
    await ws.close()
    for text in ("answer one", "answer two"):
        resp = await gateway.post(f"/api/cases/{case_id}/reply", json={"text": text}, headers=ANNA)
        assert resp.status == 202
    again = await gateway.ws_connect("/chat/ws", headers=ORIGIN)
    await again.send_json({"type": "hello", "session": session, "since": seen})
    assert await frame(again) == {"type": "welcome", "session": session, "case_id": case_id}
    missed = [await frame(again), await frame(again)]
    assert [(f["from"], f["text"]) for f in missed] == [
        ("operator", "answer one"),
        ("operator", "answer two"),
    ]
    assert missed[0]["id"] > seen and missed[1]["id"] > missed[0]["id"]
    assert (await frame(again))["type"] == "status"
    await until_sent(gateway, case_id, "answer two")  # replayed counts as delivered
    await again.close()
    # A reload has nothing shown: without `since` the whole conversation comes back.
    reload = await gateway.ws_connect("/chat/ws", headers=ORIGIN)
    await reload.send_json({"type": "hello", "session": session})
    assert (await frame(reload))["case_id"] == case_id
    texts = [(await frame(reload))["text"] for _ in range(3)]
    assert texts == ["first", "answer one", "answer two"]
    await reload.close()
    stream.close()


async def test_a_reply_through_one_process_reaches_a_visitor_on_another(
    make_gateway: GatewayFactory, config: Any
) -> None:
    one, two = await make_gateway(config), await make_gateway(config)
    assert one.port != two.port
    await available(one)
    stream = await two.get("/api/operators/anna/events", headers=ANNA)
    ws, welcome, _ = await visit(one)
    case_id = welcome["case_id"]
    await accept_offer(two, stream, case_id)
    await say(ws, "hello from process one")
    assert await next_event(stream) == ("message", {"case_id": case_id})
    resp = await two.post(f"/api/cases/{case_id}/reply", json={"text": "from two"}, headers=ANNA)
    assert resp.status == 202
    got = await frame(ws)
    assert (got["from"], got["text"]) == ("operator", "from two")
    await until_sent(two, case_id, "from two")
    await ws.close()
    stream.close()


async def test_nobody_available_says_offline_and_an_email_attaches_to_the_contact(
    gateway: TestClient,
) -> None:
    ws, welcome, status = await visit(gateway)
    assert status == {"type": "status", "online": False}
    await ws.send_json({"type": "hello", "email": "Visitor@Example.com"})
    assert await frame(ws) == welcome  # the same session, now with an e-mail
    case = await (await gateway.get(f"/api/cases/{welcome['case_id']}", headers=ANNA)).json()
    assert case["contact"]["emails"] == ["visitor@example.com"]
    assert (case["status"], case["subject"]) == ("queued", "Website chat")
    await ws.close()


async def test_a_bad_origin_is_refused_before_the_upgrade(gateway: TestClient) -> None:
    for headers in ({"Origin": "https://evil.example"}, {}):
        try:
            await gateway.ws_connect("/chat/ws", headers=headers)
        except WSServerHandshakeError as error:
            assert error.status == 403
        else:
            raise AssertionError("the socket opened")
        resp = await gateway.get("/chat/ws", headers=headers)
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "origin_not_allowed"


async def test_replies_go_to_chat_cases_of_the_assignee_only(gateway: TestClient) -> None:
    await available(gateway)
    stream = await gateway.get("/api/operators/anna/events", headers=ANNA)
    ws, welcome, _ = await visit(gateway)
    await accept_offer(gateway, stream, welcome["case_id"])
    boris = {"Authorization": "Bearer sample-token-boris"}
    path = f"/api/cases/{welcome['case_id']}/reply"
    resp = await gateway.post(path, json={"text": "mine?"}, headers=boris)
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "not_yours"
    resp = await gateway.post(path, json={"text": ""}, headers=ANNA)
    assert resp.status == 422
    body = {"contact": {"phone": "+79161230077"}, "text": "a call"}
    made = await (await gateway.post("/api/cases", json=body, headers=ANNA)).json()
    resp = await gateway.post(f"/api/cases/{made['id']}/reply", json={"text": "x"}, headers=ANNA)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "no_outbound_channel"
    resp = await gateway.post("/api/cases/999999/reply", json={"text": "x"}, headers=ANNA)
    assert resp.status == 404
    await ws.close()
    stream.close()


async def test_the_widget_script_is_served(gateway: TestClient) -> None:
    resp = await gateway.get("/chat/widget.js")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/javascript")
    source = await resp.text()
    for testid in ("chat-open", "chat-input", "chat-send", "chat-messages", "chat-message"):
        assert f'"data-testid": "{testid}"' in source
    assert "innerHTML" not in source


async def test_serve_stops_promptly_with_visitors_connected(serve: Callable[..., Serve]) -> None:
    process = serve("--workers", "0")
    await asyncio.to_thread(process.wait_ready)
    async with ClientSession() as http:
        ws = await http.ws_connect(process.base_url + "/chat/ws", headers=ORIGIN)
        await ws.send_json({"type": "hello"})
        assert (await frame(ws))["type"] == "welcome"
        assert await asyncio.to_thread(process.stop) == 0
        closing = await asyncio.wait_for(ws.receive(), 5)
        while closing.type == WSMsgType.TEXT:  # the status frame may still be unread
            closing = await asyncio.wait_for(ws.receive(), 5)
        assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)


async def test_writing_after_the_case_is_closed_for_good_moves_the_session_to_a_new_case(
    make_gateway: GatewayFactory, write_config: Callable[[str], Config]
) -> None:
    text = SAMPLE.read_text().replace('reopen_within = "7d"', 'reopen_within = "0s"')
    gateway = await make_gateway(write_config(text))
    ws, welcome, _ = await visit(gateway)
    old = welcome["case_id"]
    resp = await gateway.post(f"/api/cases/{old}/resolve", headers=ADMIN)
    assert resp.status == 200
    await ws.send_json({"type": "message", "text": "one more thing"})
    moved = await frame(ws)
    assert moved["type"] == "welcome" and moved["session"] == welcome["session"]
    assert moved["case_id"] != old
    assert (await frame(ws))["text"] == "one more thing"
    case = await (await gateway.get(f"/api/cases/{moved['case_id']}", headers=ADMIN)).json()
    assert (case["related_case"], case["channel"]) == (old, "chat")
    await ws.close()
    again = await gateway.ws_connect("/chat/ws", headers=ORIGIN)  # the session follows
    await again.send_json({"type": "hello", "session": welcome["session"]})
    assert (await frame(again))["case_id"] == moved["case_id"]
    await again.close()
