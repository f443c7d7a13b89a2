"""RQ's forking worker, counting every job's outcome in `intake_rq_jobs_total`; every line
logged about a job (by RQ, the work horse, the job) carries its meta's `request_id`: the id
of the request or mail whose step wrote the job's outbox entry (gateway/runtime/jobs.py).

Counted in the worker process after its work horse ended, not in the horse: RQ forks one horse
per job, and in prometheus_client's multiprocess mode each new pid would leave its own file.
"""

from __future__ import annotations

from typing import Any

from rq import Worker
from rq.exceptions import InvalidJobOperation
from rq.job import Job

from gateway.telemetry.context import handling
from gateway.telemetry.instruments import RQ_JOBS
from worker.stopping import PromptUnsubscribe


class CountedWorker(PromptUnsubscribe, Worker):
    def execute_job(self, job: Job, queue: Any) -> None:
        with handling(str(job.meta.get("request_id") or "")):  # the horse forks with it set
            super().execute_job(job, queue)
        RQ_JOBS.labels(job.func_name, outcome(job)).inc()


def outcome(job: Job) -> str:
    """finished, failed, scheduled (a retry is due), ...; `gone` when RQ kept no result."""
    try:
        return str(job.get_status(refresh=True).value)
    except InvalidJobOperation:
        return "gone"
