"""The aiohttp application: shared state, error mapping and the route table."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway import actions, admin, api, hooks, metrics, operators
from gateway.app_keys import RUNTIME
from gateway.background import add_singleton, singletons_ctx
from gateway.cancel import stop_tasks
from gateway.config import Config
from gateway.errors import IntakeError, PayloadTooLarge, StorageUnavailable, UnsupportedMedia
from gateway.runtime import Runtime
from gateway.timers import follow_reloads, sweep_timers
from routing import sync
from routing.keys import Keys

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024  # web forms with attachments; hooks check their own smaller limits

# aiohttp's own refusals, named as our IntakeError family names them.
CODES = {413: PayloadTooLarge.default_code, 415: UnsupportedMedia.default_code}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(error: IntakeError) -> web.Response:
    headers = {}
    if isinstance(error, StorageUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    return web.json_response(error.body(), status=error.status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except IntakeError as error:
        return error_response(error)
    except (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError) as error:
        # ReadOnlyError: a replica answered while Sentinel fails over; as transient as a timeout.
        log.warning("storage unavailable during %s %s: %s", request.method, request.path, error)
        return error_response(StorageUnavailable("Storage is unavailable; retry later."))
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = CODES.get(error.status) or error.reason.lower().replace(" ", "_")
        body = {"error": {"code": code, "message": error.reason + "."}}
        return web.json_response(body, status=error.status, headers=_allowed(error))
    except Exception:
        # A bug or damaged data, never bad input: the trace goes to the log, not the client.
        log.exception("internal error during %s %s", request.method, request.path)
        return error_response(IntakeError("Something went wrong on our side; it is logged."))


def _allowed(error: web.HTTPException) -> dict[str, str]:
    allow = error.headers.get("Allow")
    return {"Allow": allow} if allow else {}


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "pid": os.getpid()})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[RUNTIME].redis.ping()
    except (RedisConnectionError, RedisTimeoutError, OSError) as error:
        raise StorageUnavailable("Redis is not reachable.") from error
    return web.json_response({"status": "ready", "pid": os.getpid()})


def build_app(config: Config, redis_url: str, keys: Keys | None = None) -> web.Application:
    """The whole HTTP application; `cleanup_ctx` opens and closes its Redis client."""
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY)

    async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
        client = aioredis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
        runtime = Runtime.create(config, client, keys or Keys())
        await runtime.scripts.load()  # FunctionsUnsupported on Redis < 7, reported by the acceptor
        await sync.apply(runtime.scripts, config)
        app[RUNTIME] = runtime
        follower = asyncio.create_task(follow_reloads(app), name="config follower")
        yield
        await stop_tasks([follower])
        await client.aclose()

    app.cleanup_ctx.append(runtime_ctx)
    app.cleanup_ctx.append(singletons_ctx)
    add_singleton(app, "timers", sweep_timers)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    hooks.add_routes(app)
    api.add_routes(app)
    actions.add_routes(app)
    operators.add_routes(app)
    admin.add_routes(app)
    metrics.add_routes(app)
    return app
