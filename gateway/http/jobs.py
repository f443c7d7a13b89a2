"""The RQ side of the admin API: job counts and failed jobs per queue (in GET
/api/admin/queues and /metrics) and `POST /api/admin/queues/{queue}/failed/{job_id}/retry`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import redis
from aiohttp import web
from prometheus_client.core import GaugeMetricFamily

from channels.errors import NotFound
from gateway import jobs_status
from gateway.config import Config
from gateway.runtime.connection import close, sync_client


@dataclass(frozen=True)
class RqAdmin:
    connection: redis.Redis  # RQ is blocking: its calls run in a thread
    queues: tuple[str, ...]


RQ_ADMIN = web.AppKey("rq_admin", RqAdmin)


async def summary(app: web.Application) -> dict[str, Any]:
    rq = app[RQ_ADMIN]
    return await asyncio.to_thread(jobs_status.summary, rq.connection, rq.queues)


async def queue_gauge(app: web.Application) -> GaugeMetricFamily:
    """`intake_rq_queue_jobs{queue,state}`: RQ's registries, the same from every process."""
    rq = app[RQ_ADMIN]
    gauge = GaugeMetricFamily(
        "intake_rq_queue_jobs", "RQ jobs by queue and state (RQ's registries).",
        labels=["queue", "state"],
    )  # fmt: skip
    for name in rq.queues:
        states = await asyncio.to_thread(jobs_status.counts, rq.connection, name)
        for state, count in states.items():
            gauge.add_metric([name, state], count)
    return gauge


async def retry_failed(request: web.Request) -> web.Response:
    rq = request.app[RQ_ADMIN]
    name, job_id = request.match_info["queue"], request.match_info["job_id"]
    if name not in rq.queues:
        raise NotFound(f"No RQ queue {name!r} here.", code="queue_not_found")
    job = await asyncio.to_thread(jobs_status.retry, rq.connection, name, job_id)
    return web.json_response({"queue": name, "job_id": job.id, "status": "queued"})


def add_routes(app: web.Application, config: Config, redis_url: str, queue: str) -> None:
    async def client_ctx(app: web.Application) -> AsyncIterator[None]:
        connection = sync_client(
            redis_url, config.redis, socket_timeout=5, socket_connect_timeout=2
        )
        app[RQ_ADMIN] = RqAdmin(connection, (queue,))
        yield
        close(connection)

    app.cleanup_ctx.append(client_ctx)
    app.router.add_post("/api/admin/queues/{queue}/failed/{job_id}/retry", retry_failed)
