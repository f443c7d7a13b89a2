"""The aiohttp application: shared state, error mapping and the route table."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels.errors import StorageUnavailable
from gateway.chat import routes as chat
from gateway.config import Config
from gateway.http import admin, console, hooks, metrics, phone_hooks
from gateway.http.api import actions, callbacks, cases, operators
from gateway.http.app_keys import RUNTIME
from gateway.http.auth import auth_middleware
from gateway.http.errors import error_middleware
from gateway.imap.poller import add_pollers
from gateway.outbound import QUEUE
from gateway.runtime.background import add_singleton, singletons_ctx
from gateway.runtime.cancel import stop_tasks
from gateway.runtime.clock import Clock
from gateway.runtime.outbox import add_feeder
from gateway.runtime.state import Runtime
from gateway.runtime.timers import follow_reloads, sweep_timers
from routing import sync
from routing.keys import Keys

MAX_BODY = 25 * 1024 * 1024  # web forms with attachments; hooks check their own smaller limits


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "pid": os.getpid()})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[RUNTIME].redis.ping()
    except (RedisConnectionError, RedisTimeoutError, OSError) as error:
        raise StorageUnavailable("Redis is not reachable.") from error
    return web.json_response({"status": "ready", "pid": os.getpid()})


def build_app(
    config: Config,
    redis_url: str,
    keys: Keys | None = None,
    *,
    clock: Clock | None = None,
    queue: str = QUEUE,
) -> web.Application:
    """The whole HTTP application; `cleanup_ctx` opens and closes its Redis client. `clock`
    is the time of intake, actions and timers (tests set it); `queue`: the RQ queue the outbox
    feeder fills (tests give each their own)."""
    app = web.Application(middlewares=[error_middleware, auth_middleware], client_max_size=MAX_BODY)

    async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
        client = aioredis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
        runtime = Runtime.create(config, client, keys or Keys(), clock)
        await runtime.scripts.load()  # FunctionsUnsupported on Redis < 7, reported by the acceptor
        await sync.apply(runtime.scripts, config.routing, config.version)
        app[RUNTIME] = runtime
        follower = asyncio.create_task(follow_reloads(app), name="config follower")
        yield
        await stop_tasks([follower])
        await client.aclose()

    app.cleanup_ctx.append(runtime_ctx)
    app.cleanup_ctx.append(singletons_ctx)
    add_singleton(app, "timers", sweep_timers)
    if config.channels.email and config.channels.email.imap:
        add_pollers(app, config.channels.email.imap)
    add_feeder(app, redis_url, queue)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    hooks.add_routes(app)
    phone_hooks.add_routes(app)
    cases.add_routes(app)
    actions.add_routes(app)
    operators.add_routes(app)
    callbacks.add_routes(app)
    admin.add_routes(app)
    metrics.add_routes(app)
    console.add_routes(app)
    chat.add_routes(app)
    return app
