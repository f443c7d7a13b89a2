"""The SLA levels and callbacks that are due, fired by the timer sweeper (gateway/runtime/
timers.py) under its lease; each firing is one Lua step that records it, so a repeat is a no-op."""

from __future__ import annotations

import logging

from gateway import deadlines
from gateway.runtime.state import Runtime
from gateway.views import text
from routing.deadlines import policy_json
from routing.errors import RoutingRefused

log = logging.getLogger(__name__)

BATCH = 100


async def sweep(runtime: Runtime, now_ms: int) -> None:
    keys = runtime.keys
    if due := await runtime.redis.zrangebyscore(keys.sla, 0, now_ms, 0, BATCH):
        policy = policy_json(runtime.config.routing)
        for case_id in due:
            result = await runtime.scripts.sla_fire(now_ms, int(text(case_id)), policy)
            if result["fired"]:
                log.info("case %s: SLA %s", int(text(case_id)), " ".join(result["fired"]))
    for case_id in await runtime.redis.zrangebyscore(keys.callbacks, 0, now_ms, 0, BATCH):
        await _callback(runtime, int(text(case_id)), now_ms)


async def _callback(runtime: Runtime, case_id: int, now_ms: int) -> None:
    shift = await deadlines.resume_shift(runtime, case_id, now_ms)
    grace = int(runtime.config.routing.callbacks.private_grace * 1000)
    try:
        result = await runtime.scripts.callback_due(now_ms, case_id, shift, grace)
    except RoutingRefused as error:
        log.info("callback of case %s skipped: %s", case_id, error.code)
        return
    if result["routed"]:
        log.info("callback of case %s routed to %s", case_id, result["operator"] or "the queue")
