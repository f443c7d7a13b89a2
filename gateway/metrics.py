"""`GET /metrics`: Prometheus text computed from Redis, so every process reports the same."""

from __future__ import annotations

from aiohttp import web

from gateway.admin import admin_runtime
from gateway.config import CHANNELS
from gateway.views import STATUSES, text

PRESENCE_VALUE = {"available": 2, "away": 1, "offline": 0}


async def metrics(request: web.Request) -> web.Response:
    runtime = admin_runtime(request)
    keys, config = runtime.keys, runtime.config
    async with runtime.redis.pipeline(transaction=False) as pipe:
        pipe.get(keys.case_seq)
        for status in STATUSES:
            pipe.zcard(keys.status(status))
        for svc in config.services:
            for ch in CHANNELS:
                pipe.zcard(keys.queue(svc, ch))
        for op in config.operators:
            pipe.hmget(keys.operator(op), "pr", "lt")
        rows = iter(await pipe.execute())
    lines = [
        "# HELP intake_cases_created_total Cases opened since the data began.",
        "# TYPE intake_cases_created_total counter",
        f"intake_cases_created_total {int(text(next(rows) or 0))}",
        "# HELP intake_cases Cases by status.",
        "# TYPE intake_cases gauge",
    ]
    lines += [f'intake_cases{{status="{status}"}} {next(rows)}' for status in STATUSES]
    lines += [
        "# HELP intake_queued Queued cases by service and channel.",
        "# TYPE intake_queued gauge",
    ]
    for svc in config.services:
        lines += [
            f'intake_queued{{service="{svc}",channel="{ch}"}} {next(rows)}' for ch in CHANNELS
        ]
    states = [next(rows) for _ in config.operators]
    lines += [
        "# HELP intake_operator_load Cases assigned or in progress per operator.",
        "# TYPE intake_operator_load gauge",
    ]
    for op, (_, load) in zip(config.operators, states, strict=True):
        lines.append(f'intake_operator_load{{operator="{op}"}} {int(text(load or 0))}')
    lines += [
        "# HELP intake_operator_presence 2 available, 1 away, 0 offline.",
        "# TYPE intake_operator_presence gauge",
    ]
    for op, (presence, _) in zip(config.operators, states, strict=True):
        value = PRESENCE_VALUE.get(text(presence) if presence else "offline", 0)
        lines.append(f'intake_operator_presence{{operator="{op}"}} {value}')
    body = "\n".join(lines) + "\n"
    return web.Response(text=body, content_type="text/plain", charset="utf-8")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
