"""The one RQ queue: the gateway enqueues to it and every worker listens on it.

Jobs are named by dotted path (`"worker.jobs.outbound.deliver"`), so enqueuing imports no job code.
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job

from gateway.outbound import QUEUE


def queue(connection: Redis, name: str = QUEUE) -> Queue:
    return Queue(name, connection=connection)


def enqueue(connection: Redis, func: str, *args: Any, **kwargs: Any) -> Job:
    """Enqueue `func(*args, **kwargs)`; RQ options such as `job_timeout` pass through."""
    return queue(connection).enqueue(func, *args, **kwargs)
