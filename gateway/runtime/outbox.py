"""The outbox feeder: each entry of the `{p}outbox` stream becomes one RQ job, at least once.

The Lua step that records a reply also appends `case`, `entry` to the stream (routing/lua/
outbox.lua), so nothing is sent that was not recorded; the first entry makes the stream and
its consumer group, so a deployment without replies has neither. One feeder per deployment
(a singleton under a lease) reads the stream through the group: an entry is acknowledged (and
deleted) only after its job is enqueued, and entries a dead feeder read but never acknowledged
are taken over with XAUTOCLAIM. The job id is derived from the entry, and a job whose id
exists is not enqueued again; a job that runs twice anyway claims its delivery in Lua first
and does nothing the second time (worker/jobs/outbound.py). An entry with `job` = `media`
(an inbound message's linked media, routing/lua/intake.lua) becomes a fetch job instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Any

import redis
import redis.asyncio as aioredis
from aiohttp import web
from rq import Queue
from rq.job import Job

from gateway.http.app_keys import RUNTIME
from gateway.outbound import QUEUE
from gateway.runtime.background import add_singleton
from gateway.runtime.cancel import raise_if_cancelled
from gateway.runtime.connection import aclose, async_client, close, sync_client
from gateway.runtime.jobs import spec
from gateway.telemetry.context import handling
from gateway.telemetry.instruments import OUTBOX_LAG
from gateway.views import text
from routing.keys import OUTBOX_GROUP as GROUP
from routing.keys import Keys

log = logging.getLogger(__name__)

STUCK_MS = 60_000  # read by a feeder that died before acknowledging: taken over after this
BATCH = 100
BLOCK_MS = 1000


class Feeder:
    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        rq: redis.Redis,
        queue: str = QUEUE,
        stuck_ms: int = STUCK_MS,
    ):
        self.redis = client
        self.keys = keys
        self.queue = Queue(queue, connection=rq)
        self.stuck_ms = stuck_ms
        self.consumer = f"{socket.gethostname()}:{os.getpid()}"

    async def feed_once(self, block_ms: int | None = BLOCK_MS) -> int:
        """Enqueue the entries taken over or new (waiting up to `block_ms` for new ones, None:
        not at all); returns how many were handled."""
        stream = self.keys.outbox
        if not await self.redis.exists(stream):
            # No reply written yet (the first one makes the stream and its group): nothing to read.
            await asyncio.sleep((block_ms or 0) / 1000)
            return 0
        claimed = await self.redis.xautoclaim(
            stream, GROUP, self.consumer, self.stuck_ms, "0-0", count=BATCH
        )
        entries: list[tuple[Any, dict[Any, Any]]] = list(claimed[1])
        if not entries:
            read: list[Any] = await self.redis.xreadgroup(  # type: ignore[assignment]
                GROUP, self.consumer, {stream: ">"}, count=BATCH, block=block_ms
            )
            entries = [entry for _, found in read for entry in found]
        for entry_id, fields in entries:
            await self._handle(text(entry_id), {text(k): text(v) for k, v in fields.items()})
        return len(entries)

    async def _handle(self, stream_id: str, fields: dict[str, str]) -> None:
        case_id, entry = fields.get("case", ""), fields.get("entry", "")
        if case_id and entry:
            with handling(fields.get("rid", "")):  # the line saying so carries the request's id
                await asyncio.to_thread(self._enqueue, case_id, entry, fields, stream_id)
            written_ms = int(stream_id.partition("-")[0])  # a stream id is `<ms>-<seq>`
            lag = max(time.time() - written_ms / 1000, 0.0)
            OUTBOX_LAG.labels(fields.get("job", "deliver")).observe(lag)
        else:
            log.error("outbox entry %s names no case or entry: %s; dropped", stream_id, fields)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.keys.outbox, GROUP, stream_id)
            pipe.xdel(self.keys.outbox, stream_id)
            await pipe.execute()

    def _enqueue(self, case_id: str, entry: str, fields: dict[str, str], stream_id: str) -> None:
        job = spec(self.keys.prefix, case_id, entry, fields, stream_id)
        if Job.exists(job.job_id, connection=self.queue.connection):
            return  # fed before (a feeder died before its XACK): that job does the work
        self.queue.enqueue(
            job.func, self.keys.prefix, int(case_id), entry, job_id=job.job_id,
            description=job.description, meta=job.meta, retry=job.retry(),
        )  # fmt: skip
        log.info("enqueued %s (%s)", job.description, job.job_id)


def add_feeder(app: web.Application, redis_url: str, queue: str = QUEUE) -> None:
    """Register the feeder singleton. Its clients are its own: RQ needs a blocking one, and
    the blocking XREADGROUP would hold a connection of the request handlers' pool."""

    async def feed(app: web.Application) -> None:
        runtime = app[RUNTIME]
        settings = runtime.config.redis
        client = async_client(redis_url, settings, socket_timeout=5, socket_connect_timeout=2)
        rq = sync_client(redis_url, settings, socket_timeout=5, socket_connect_timeout=2)
        feeder = Feeder(client, runtime.keys, rq, queue)
        try:
            while True:
                await feeder.feed_once()
                raise_if_cancelled()
        finally:
            close(rq)
            await aclose(client)

    add_singleton(app, "outbox", feed)
