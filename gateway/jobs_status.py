"""The RQ queues as rq-dashboard shows them, read from RQ's own registries (blocking calls:
the HTTP side runs them in a thread): counts per state, the newest failed jobs, a retry."""

from __future__ import annotations

import re
from typing import Any

from redis import Redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from channels.errors import NotFound

NEWEST_FAILED = 5  # failed jobs listed per queue
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")  # what RQ allows in a job id


def counts(connection: Redis, name: str) -> dict[str, int]:
    """Jobs per state of queue `name` (no registry cleanup: reading changes nothing)."""
    queue = Queue(name, connection=connection)
    registries = {
        "started": queue.started_job_registry,
        "scheduled": queue.scheduled_job_registry,
        "deferred": queue.deferred_job_registry,
        "finished": queue.finished_job_registry,
        "failed": queue.failed_job_registry,
    }
    found = {"queued": queue.count}
    found |= {
        state: registry.get_job_count(cleanup=False) for state, registry in registries.items()
    }
    return found


def newest_failed(connection: Redis, name: str) -> list[dict[str, Any]]:
    registry = FailedJobRegistry(name, connection=connection)
    ids = registry.get_job_ids(0, NEWEST_FAILED - 1, desc=True, cleanup=False)
    jobs = Job.fetch_many(ids, connection=connection)
    return [_failed(job) for job in jobs if job is not None]


def _failed(job: Job) -> dict[str, Any]:
    result = job.latest_result()
    trace = (result.exc_string or "") if result is not None else ""
    lines = [line for line in trace.strip().splitlines() if line.strip()]
    return {
        "id": job.id,
        "func": job.func_name,
        "description": job.description,
        "meta": job.meta,
        "ended_at": job.ended_at.isoformat() if job.ended_at else None,
        "exc": lines[-1] if lines else "",  # the exception's own line; the trace stays in RQ
    }


def summary(connection: Redis, names: tuple[str, ...]) -> dict[str, Any]:
    """Per queue: a count per state and its newest failed jobs."""
    return {
        name: {**counts(connection, name), "failed_jobs": newest_failed(connection, name)}
        for name in names
    }


def retry(connection: Redis, name: str, job_id: str) -> Job:
    """Put a failed job of queue `name` back on it; NotFound when it is not failed there."""
    if not JOB_ID.fullmatch(job_id):
        raise NotFound("No such failed job.", code="job_not_found")
    try:
        return FailedJobRegistry(name, connection=connection).requeue(job_id)
    except (InvalidJobOperation, NoSuchJobError):
        raise NotFound(f"Job {job_id} is not in the failed registry of {name}.",
                       code="job_not_found") from None  # fmt: skip
