"""The chat's routes and its background tasks (the reply subscription, marking replies sent)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from importlib import resources

from aiohttp import web
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.chat.hub import HUB, Hub
from gateway.chat.socket import chat_socket
from gateway.http.app_keys import RUNTIME
from gateway.runtime.cancel import stop_tasks

WIDGET = resources.files("gateway").joinpath("static", "widget.js").read_bytes()


async def widget(request: web.Request) -> web.Response:
    headers = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
    return web.Response(body=WIDGET, content_type="text/javascript", headers=headers)


async def _hub_ctx(app: web.Application) -> AsyncIterator[None]:
    hub, runtime = app[HUB], app[RUNTIME]
    try:  # before serving: a reply then always has a listener
        pubsub: PubSub | None = await hub.subscribe(runtime)
    except (RedisConnectionError, RedisTimeoutError, OSError):
        pubsub = None  # Redis went away just now: the hub subscribes when it is back
    tasks = [
        asyncio.create_task(hub.run(runtime, pubsub), name="chat replies"),
        asyncio.create_task(hub.mark_sent(runtime), name="chat replies sent"),
    ]
    yield
    await stop_tasks(tasks)


async def _close_sockets(app: web.Application) -> None:
    await app[HUB].close_all()


def add_routes(app: web.Application) -> None:
    app[HUB] = Hub()
    app.cleanup_ctx.append(_hub_ctx)
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/chat/ws", chat_socket)
    app.router.add_get("/chat/widget.js", widget)
