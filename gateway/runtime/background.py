"""Once-per-deployment background work ("singletons"): offered in every acceptor, run in one.

Each runs under the Redis lease `<prefix>lease:<name>`; wiring: `add_singleton` + `singletons_ctx`.

    app.cleanup_ctx.append(runtime_ctx)      # singletons_ctx needs app[RUNTIME]
    app.cleanup_ctx.append(singletons_ctx)   # after it: cancelled before Redis closes
    add_singleton(app, "offer-sweeper", sweep_offers)   # async def sweep_offers(app) -> None
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.http.app_keys import RUNTIME
from gateway.runtime.cancel import stop_tasks
from gateway.runtime.lease import Lease

log = logging.getLogger(__name__)

Singleton = Callable[[web.Application], Awaitable[None]]
SINGLETONS = web.AppKey("singletons", dict[str, Singleton])

LEASE_TTL = 15.0  # a dead holder's work resumes elsewhere within about this long
RETRY_AFTER = 5.0  # after a singleton raised
RECONNECT = 1.0  # after it lost Redis


def add_singleton(app: web.Application, name: str, work: Singleton) -> None:
    """Register long-running `work(app)` under lease `name`; call before the app starts."""
    app.setdefault(SINGLETONS, {})[name] = work


async def singletons_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: compete for every registered singleton's lease while the app runs."""
    tasks = [
        asyncio.create_task(keep_running(app, name, work), name=f"singleton {name}")
        for name, work in app.get(SINGLETONS, {}).items()
    ]
    yield
    await stop_tasks(tasks)


async def keep_running(app: web.Application, name: str, work: Singleton) -> None:
    """Hold the lease and run `work`; a crash is logged and retried, never fatal to the app."""
    runtime = app[RUNTIME]
    lease = Lease(runtime.redis, runtime.keys.lease(name), LEASE_TTL)
    while True:
        try:
            await lease.hold(lambda: work(app))
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            # Redis restarting (the embedded one is back within about a second): no trace
            log.warning("singleton %s lost Redis (%s); retrying in %.0fs", name, error, RECONNECT)
            await asyncio.sleep(RECONNECT)
        except Exception:
            log.exception("singleton %s failed; retrying in %.0fs", name, RETRY_AFTER)
            await asyncio.sleep(RETRY_AFTER)
        else:
            log.info("singleton %s finished", name)
            return
