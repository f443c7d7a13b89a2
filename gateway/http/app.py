"""The aiohttp application: shared state, error mapping and the route table."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels.errors import StorageUnavailable
from gateway.chat import routes as chat
from gateway.config import Config
from gateway.http import admin, console, hooks, jobs, metrics, observe, phone_hooks, twilio_status
from gateway.http.api import actions, callbacks, cases, operators, workflow
from gateway.http.api import history as case_history
from gateway.http.api import timeline as case_timeline
from gateway.http.app_keys import RUNTIME
from gateway.http.auth import auth_middleware
from gateway.http.errors import error_middleware
from gateway.http.limits import limit_middleware
from gateway.http.openapi import routes as openapi
from gateway.imap.poller import add_pollers
from gateway.outbound import QUEUE
from gateway.runtime.background import add_singleton, singletons_ctx
from gateway.runtime.cancel import stop_tasks
from gateway.runtime.clock import Clock
from gateway.runtime.connection import aclose, async_client
from gateway.runtime.outbox import add_feeder
from gateway.runtime.state import Runtime
from gateway.runtime.timers import follow_reloads, sweep_timers
from routing import sync, upgrades
from routing.keys import Keys

log = logging.getLogger(__name__)

STARTUP_RETRY, MAX_STARTUP_RETRY = 0.25, 2.0  # seconds between tries to reach Redis at start
MAX_BODY = 25 * 1024 * 1024  # web forms with attachments; hooks check their own smaller limits


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "pid": os.getpid()})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[RUNTIME].redis.ping()
    except (RedisConnectionError, RedisTimeoutError, OSError) as error:
        raise StorageUnavailable("Redis is not reachable.") from error
    return web.json_response({"status": "ready", "pid": os.getpid()})


async def prepare(runtime: Runtime, config: Config) -> None:
    """The Lua library loaded, the config applied and the stored-data upgrades run
    (routing/upgrades.py), retried while Redis is away (restarting, failing over): an acceptor
    starting just then waits for it instead of exiting. Redis < 7 raises FunctionsUnsupported,
    which the acceptor reports."""
    delay = STARTUP_RETRY
    while True:
        try:
            await runtime.scripts.load()
            await sync.apply(runtime.scripts, config.routing, config.version)
            await upgrades.run(runtime.scripts)
            return
        except (
            RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError, StorageUnavailable
        ) as error:  # fmt: skip
            log.warning("Redis is not ready at start (%s); trying again in %.2fs", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_STARTUP_RETRY)


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
    middlewares = [observe.middleware(config.telemetry.per_process_metrics), error_middleware]
    middlewares += [auth_middleware, limit_middleware]
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY)
    app.on_response_prepare.append(observe.stamp_request_id)

    async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
        client = async_client(
            redis_url,
            config.redis,
            socket_timeout=5,
            socket_connect_timeout=2,
            # A pooled connection that a restarted server closed fails once: its command never
            # ran there, so one more try on a fresh connection answers instead of a 503.
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError],
        )
        runtime = Runtime.create(config, client, keys or Keys(), clock)
        await prepare(runtime, config)
        app[RUNTIME] = runtime
        follower = asyncio.create_task(follow_reloads(app), name="config follower")
        yield
        await stop_tasks([follower])
        await aclose(client)

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
    twilio_status.add_routes(app)
    cases.add_routes(app)
    actions.add_routes(app)
    operators.add_routes(app)
    callbacks.add_routes(app)
    workflow.add_routes(app)
    case_timeline.add_routes(app)
    case_history.add_routes(app)
    admin.add_routes(app)
    jobs.add_routes(app, config, redis_url, queue)
    metrics.add_routes(app)
    console.add_routes(app)
    chat.add_routes(app)
    openapi.add_routes(app)
    return app
