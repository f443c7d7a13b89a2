"""Deadlines of stored cases: the shift of a resume on the case's schedule, and the recompute
of open cases' due times after a reload changed SLAs or schedules."""

from __future__ import annotations

from typing import Any

from gateway.runtime.state import Runtime
from gateway.views import integer, text
from routing.deadlines import dues, schedule_of
from routing.schedule import add, open_between
from routing.settings import RoutingSettings

OPEN_STATUSES = ("queued", "assigned", "in_progress", "waiting", "returned")  # not classifying
BATCH = 200  # cases per recompute step: one bounded Redis call each


async def resume_shift(runtime: Runtime, case_id: int, now_ms: int) -> tuple[str, ...]:
    """(pause start seen, new resolution due, new warning, paused open ms) for `resume`: the
    clock stopped for the open time the pause lasted on the case's schedule."""
    ps, sd, sw, sc = await runtime.redis.hmget(runtime.keys.case(case_id), "ps", "sd", "sw", "sc")
    start = integer(text(ps)) if ps is not None else None
    if start is None:
        return ("", "", "", "")
    schedule = schedule_of(runtime.config.routing, text(sc) if sc is not None else None)
    paused = open_between(schedule, start, now_ms)

    def shifted(due: Any) -> str:
        found = integer(text(due)) if due is not None else None
        return "" if found is None else str(add(schedule, found, paused))

    return (str(start), shifted(sd), shifted(sw), str(paused))


async def recompute(runtime: Runtime, routing: RoutingSettings, now_ms: int) -> int:
    """New due times for every open case, from its creation on the new terms (pauses so far
    kept), in batches of BATCH; returns how many cases were updated."""
    changed = 0
    for status in OPEN_STATUSES:
        last = 0
        while True:
            found = await runtime.redis.zrangebyscore(
                runtime.keys.status(status), f"({last}", "+inf", start=0, num=BATCH
            )
            if not found:
                break
            ids = [int(text(raw)) for raw in found]
            rows = await _rows(runtime, routing, ids)
            if rows:
                changed += (await runtime.scripts.sla_set(now_ms, rows))["changed"]
            last = ids[-1]
    return changed


async def _rows(runtime: Runtime, routing: RoutingSettings, ids: list[int]) -> list[list[Any]]:
    keys = runtime.keys
    async with runtime.redis.pipeline(transaction=False) as pipe:
        for case_id in ids:
            pipe.hmget(keys.case(case_id), "ca", "pr", "sv", "ct", "pt", "cl")
        cases = await pipe.execute()
    async with runtime.redis.pipeline(transaction=False) as pipe:
        for fields in cases:
            pipe.hget(keys.contact(text(fields[3] or b"")), "cg")
        categories = await pipe.execute()
    rows = []
    for case_id, fields, category in zip(ids, cases, categories, strict=True):
        # a triaged case's clocks started at its classification
        started = fields[5] or fields[0] or b""
        created, priority = integer(text(started)), integer(text(fields[1] or b""))
        if created is None or priority is None:
            continue
        case = (priority, text(fields[2] or b""), text(category or b""))
        found = dues(routing, case, created, integer(text(fields[4] or b"")) or 0)
        if found:
            rows.append([case_id, *found])
    return rows
