"""The RQ worker's warm shutdown is prompt: its pubsub thread (listening for RQ's stop and kill
commands) ends as soon as the worker unsubscribes, not after RQ's 60 s pubsub sleep.

Whether the thread reads the UNSUBSCRIBE reply before or after its running flag is cleared is
a race between two threads (lost a few times in a hundred); so many stops in a row."""

from __future__ import annotations

import threading
import time

import redis
from rq import Queue

from worker.counted import CountedWorker

STOPS = 200
PROMPT = 3.0  # seconds; the race lost costs 60


def test_worker_unsubscribes_promptly_every_time(sync_redis: redis.Redis, queue_name: str) -> None:
    worker = CountedWorker([Queue(queue_name, connection=sync_redis)], connection=sync_redis)
    for stop in range(STOPS):
        worker.subscribe()
        time.sleep(0.005)  # the thread is blocked reading its connection, as in a running worker
        unsubscribing = threading.Thread(target=worker.unsubscribe, daemon=True)
        unsubscribing.start()
        unsubscribing.join(PROMPT)
        assert not unsubscribing.is_alive(), f"stop {stop + 1}: unsubscribe still waiting"
        assert worker.pubsub_thread is not None and not worker.pubsub_thread.is_alive()
