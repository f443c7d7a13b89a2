"""The one RQ queue: the gateway enqueues to it and every worker listens on it.

Jobs are named by dotted path (`"worker.jobs.send_reply"`), so enqueuing imports no job code.
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job

QUEUE = "intake"


def queue(connection: Redis) -> Queue:
    return Queue(QUEUE, connection=connection)


def enqueue(connection: Redis, func: str, *args: Any, **kwargs: Any) -> Job:
    """Enqueue `func(*args, **kwargs)`; RQ options such as `job_timeout` pass through."""
    return queue(connection).enqueue(func, *args, **kwargs)
