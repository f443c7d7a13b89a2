"""Provider endpoints, one route per hook of every registered channel (channels/registry.py).

The edge reads the bounded body, hands the channel a `Delivery`, stores what its adapter returns
through the intake and writes the channel's `Reply`; errors go to gateway/http/errors.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from channels.base import Channel, Delivery, Hook
from channels.message import InboundMessage
from channels.registry import CHANNELS
from gateway.http.app_keys import RUNTIME
from gateway.http.auth import config_of
from gateway.http.body import read_limited
from gateway.intake import IntakeResult

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.Response]]


async def delivery_of(request: web.Request, max_body: int, public_url: str) -> Delivery:
    path, _, query = request.raw_path.partition("?")
    return Delivery(
        headers=request.headers,
        body=await read_limited(request, max_body),
        path=path,
        query=query,
        remote=request.remote or "",
        route=request.match_info,
        public_url=public_url,
    )


def _handler(channel: Channel[Any], hook: Hook[Any]) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        runtime, config = request.app[RUNTIME], config_of(request)
        settings = getattr(config.channels, channel.name)  # None: the channel is off
        delivery = await delivery_of(request, hook.max_body, config.public_url)
        outcome = hook.parse(delivery, settings, config.default_region)
        stored: IntakeResult | None = None
        if isinstance(outcome, InboundMessage):
            stored = await runtime.intake.submit(config, outcome)
        else:
            log.debug("%s %s: stored nothing, %s", channel.name, hook.path, outcome.reason)
        reply = hook.answer(delivery, settings, stored)
        # Returned, never raised (e.g. HTTPSeeOther): a raised one keeps its traceback, whose
        # frames hold the request, and every browser post left a cycle for the GC.
        return web.Response(
            status=reply.status,
            body=reply.body or None,
            headers=reply.headers,
            content_type=reply.content_type or None,
        )

    return handle


def add_routes(app: web.Application) -> None:
    for channel in CHANNELS:
        for hook in channel.hooks:
            app.router.add_route(hook.method, hook.path, _handler(channel, hook))
