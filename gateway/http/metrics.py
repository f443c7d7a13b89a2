"""`GET /metrics`: Prometheus text through prometheus_client (gateway/telemetry/exposition.py)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.http.admin import admin_runtime
from gateway.http.jobs import queue_gauge
from gateway.telemetry.exposition import per_process_registry, render
from gateway.telemetry.redis_gauges import RedisGauges


async def metrics(request: web.Request) -> web.Response:
    runtime = admin_runtime(request)
    gauges = await RedisGauges.read(runtime.redis, runtime.keys, runtime.config)
    gauges.extra.append(await queue_gauge(request.app))
    body = await asyncio.to_thread(render, per_process_registry(), gauges)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
