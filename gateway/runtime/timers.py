"""Per-deployment timers (offer expiry, pause `until`, SLA levels, callbacks) and the
per-process config follower."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels.errors import ConfigError
from gateway.config import load_config
from gateway.deadlines import resume_shift
from gateway.http.app_keys import RUNTIME
from gateway.runtime import sla_timers
from gateway.runtime.cancel import raise_if_cancelled
from gateway.views import text
from routing.errors import RoutingRefused

log = logging.getLogger(__name__)

TICK = 0.2  # seconds between looks at the due offers, resumes, SLA levels and callbacks
BATCH = 100
CHECK_EVERY = 2.0  # seconds between comparisons with the version applied last
RESUBSCRIBE_AFTER = 1.0  # seconds between attempts to follow reloads again after Redis left


async def sweep_timers(app: web.Application) -> None:
    """Expire due offers, resume due pauses, fire due SLA levels and callbacks; runs once per
    deployment under a lease."""
    runtime = app[RUNTIME]
    while True:
        now = runtime.clock.now_ms()
        for case_id in await runtime.redis.zrangebyscore(runtime.keys.offers, 0, now, 0, BATCH):
            result = await runtime.scripts.expire(now, int(text(case_id)))
            if result.get("expired"):
                log.info("offer on case %s expired", int(text(case_id)))
        for case_id in await runtime.redis.zrangebyscore(runtime.keys.resumes, 0, now, 0, BATCH):
            await _resume(app, int(text(case_id)), now)
        await sla_timers.sweep(runtime, now)
        raise_if_cancelled()
        await asyncio.sleep(TICK)


async def _resume(app: web.Application, case_id: int, now: int) -> None:
    runtime = app[RUNTIME]
    try:
        shift = await resume_shift(runtime, case_id, now)
        await runtime.scripts.resume(now, case_id, "", by_timer=True, shift=shift)
    except RoutingRefused as error:
        # Resolved or resumed by hand meanwhile: the timer has nothing left to do.
        await runtime.redis.zrem(runtime.keys.resumes, case_id)
        log.info("timer resume of case %s skipped: %s", case_id, error.code)


async def follow_reloads(app: web.Application) -> None:
    """Every process re-reads the file when any process applied a new version.

    A lost Redis connection ends a subscription for good, so it is made again until Redis is
    back; pub/sub keeps nothing, so between announcements the version applied last (kept in
    Redis) is compared with ours: an announcement missed while cut off is caught up.
    """
    while True:
        try:
            await _follow(app)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            raise_if_cancelled()
            log.warning("config follower lost Redis (%s); resubscribing", error)
            await asyncio.sleep(RESUBSCRIBE_AFTER)


async def _follow(app: web.Application) -> None:
    runtime = app[RUNTIME]
    pubsub = runtime.redis.pubsub()
    await pubsub.subscribe(runtime.keys.reload_channel)
    try:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=CHECK_EVERY)
            raise_if_cancelled()
            if message is not None:
                _catch_up(app, text(message["data"]))
                continue
            applied = await runtime.redis.get(runtime.keys.config_version)
            if applied is not None:
                _catch_up(app, text(applied))
    finally:
        await pubsub.aclose()


def _catch_up(app: web.Application, version: str) -> None:
    runtime = app[RUNTIME]
    if version == runtime.config.version:
        return
    try:
        runtime.use(load_config(runtime.config.path))
    except ConfigError as error:
        log.error("config %s was applied elsewhere but the file is invalid here: %s",
                  version, error.problems)  # fmt: skip
