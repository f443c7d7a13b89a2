"""`GET /chat/ws`: the Origin is checked before the upgrade, then frames go to a `Visitor`.

Nothing a visitor sends closes the socket: a frame that is malformed, binary, over a limit, or
arrives while Redis is away gets an `error` frame and the next frame is read as usual.
"""

from __future__ import annotations

import logging

from aiohttp import WSMsgType, web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels.chat import frames
from channels.chat_settings import ChatSettings
from channels.errors import Forbidden, IntakeError, NotFound
from gateway.chat.hub import HUB
from gateway.chat.visitor import Visitor
from gateway.http.app_keys import RUNTIME
from gateway.http.auth import config_of
from gateway.http.limits import source_address
from routing.errors import RoutingRefused

log = logging.getLogger(__name__)
MAX_FRAME_BYTES = 1024 * 1024  # beyond this aiohttp closes (1009); below, limits are frames
HEARTBEAT = 30.0  # seconds between pings: half-open mobile connections are noticed


def _settings(request: web.Request) -> ChatSettings:
    settings = config_of(request).channels.chat
    if settings is None:
        raise NotFound("The chat channel is off.", code="chat_off")
    origin = request.headers.get("Origin", "").rstrip("/")
    if origin not in settings.allowed_origins:
        raise Forbidden("This page may not open the chat.", code="origin_not_allowed")
    return settings


async def chat_socket(request: web.Request) -> web.WebSocketResponse:
    _settings(request)
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=MAX_FRAME_BYTES)
    await ws.prepare(request)
    runtime, hub = request.app[RUNTIME], request.app[HUB]
    visitor = Visitor(runtime, hub, ws, source_address(request))
    hub.open.add(ws)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await _receive(visitor, msg.data, runtime.config.channels.chat)
            elif msg.type == WSMsgType.BINARY:
                await visitor.send(frames.error("binary_frame", "Frames must be JSON text."))
    finally:
        visitor.leave()
        hub.open.discard(ws)
    return ws


async def _receive(visitor: Visitor, raw: str, settings: ChatSettings | None) -> None:
    if settings is None:  # switched off by a reload while the socket was open
        await visitor.send(frames.error("chat_off", "The chat channel is off."))
        return
    try:
        await visitor.receive(raw, settings)
    except RoutingRefused as error:
        await visitor.send(frames.error(error.code, "The case refused the message."))
    except IntakeError as error:
        await visitor.send(frames.error(error.code, error.message))
    except (RedisConnectionError, RedisTimeoutError):
        message = "Storage is unavailable; send it again in a moment."
        await visitor.send(frames.error("storage_unavailable", message))
