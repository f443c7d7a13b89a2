"""A visitor's side of `GET /chat/ws` for tests: real WebSocket clients (aiohttp)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient

ORIGIN = {"Origin": "http://127.0.0.1:8080"}  # the sample's allowed origin
ANNA = {"Authorization": "Bearer sample-token-anna"}


async def frame(ws: ClientWebSocketResponse, timeout: float = 5) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), timeout)
    assert msg.type == WSMsgType.TEXT, msg
    found: dict[str, Any] = json.loads(msg.data)
    return found


async def visit(
    client: TestClient, **hello: Any
) -> tuple[ClientWebSocketResponse, dict[str, Any], dict[str, Any]]:
    """A socket after its hello: (socket, welcome frame, status frame)."""
    ws = await client.ws_connect("/chat/ws", headers=ORIGIN)
    await ws.send_json({"type": "hello", **hello})
    welcome = await frame(ws)
    assert welcome["type"] == "welcome", welcome
    status = await frame(ws)
    assert status["type"] == "status", status
    return ws, welcome, status


async def say(ws: ClientWebSocketResponse, text: str) -> dict[str, Any]:
    """Send a message; the gateway's echo of it (with its `id`)."""
    await ws.send_json({"type": "message", "text": text})
    echo = await frame(ws)
    assert echo["type"] == "message" and echo["from"] == "visitor", echo
    return echo
