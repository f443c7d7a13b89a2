"""RQ in tests: a queue of the test's own, a real worker in burst mode, the scheduler's move of
due retries, and waiting for the outbox feeder to enqueue."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Iterator

import pytest
import redis
from rq import Queue, SimpleWorker

from worker.stopping import PromptUnsubscribe


@pytest.fixture
def queue_name(sync_redis: redis.Redis) -> Iterator[str]:
    """An RQ queue of this test's own; its RQ keys (queue, registries, jobs) go afterwards."""
    name = f"rq-{uuid.uuid4().hex[:10]}"
    yield name
    for key in sync_redis.scan_iter(match="rq:*", count=1000):
        job = sync_redis.type(key) == b"hash" and sync_redis.hget(key, "origin") == name.encode()
        if job or name in key.decode():
            sync_redis.delete(key)


class BurstWorker(PromptUnsubscribe, SimpleWorker):
    """RQ's SimpleWorker (jobs run in the test's own process), stopping as promptly as ours."""


def run_jobs(connection: redis.Redis, queue_name: str) -> None:
    """A real RQ worker in burst mode: runs every job queued now, then returns.

    The worker installs its own SIGINT/SIGTERM handlers; pytest's come back afterwards (and
    the worker, which those handlers kept alive, is freed within this test)."""
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    worker = BurstWorker([Queue(queue_name, connection=connection)], connection=connection)
    try:
        worker.work(burst=True)
    finally:
        signal.signal(signal.SIGINT, before[0])
        signal.signal(signal.SIGTERM, before[1])


def due_retries(connection: redis.Redis, queue_name: str) -> list[str]:
    """The scheduler's move of scheduled retries onto the queue, as if their backoff passed."""
    registry = Queue(queue_name, connection=connection).scheduled_job_registry
    found = registry.get_job_ids()
    for job_id in found:
        registry.requeue(job_id)
    return found


async def queued(connection: redis.Redis, queue_name: str, count: int = 1) -> None:
    """Until the feeder (a singleton task of the app) has enqueued `count` jobs."""
    while Queue(queue_name, connection=connection).count < count:
        await asyncio.sleep(0.02)
