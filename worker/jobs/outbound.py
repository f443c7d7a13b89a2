"""`deliver`: send one reply (an `out` timeline entry) through its channel's sender, once.

The job claims the delivery in Lua first (queued or retrying -> sending, one attempt more): a
second run of the same job, or a stale copy of it, finds `sending`/`sent`/`failed` and does
nothing. The outcome is recorded in one more Lua step: `sent` with the provider's id, `failed`
with the reason, or `retrying` with the reason and a new job for the next attempt, scheduled
after a backoff (RQ's `enqueue_in`: the worker runs with the scheduler). A worker killed while
sending leaves the delivery `sending`: it is never sent twice, and shows as not delivered.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from rq import Queue, Retry, get_current_job
from rq.job import Job

from channels.outbound import Deferred, Delivery, Failed
from gateway.config import Config
from gateway.outbound import DELIVER_RETRIES, JOB, SENDERS, job_id
from routing.keys import Keys
from worker.jobs import context
from worker.jobs.calls import call
from worker.jobs.reply import delivery_of

log = logging.getLogger(__name__)

BACKOFF = (30, 120, 600, 1800, 3600)  # seconds before attempts 2, 3, ...
MAX_ATTEMPTS = len(BACKOFF) + 1


def deliver(prefix: str, case_id: int, entry_id: str) -> str:
    """The outcome: `sent`, `failed`, `retrying`, or what another run left (`skipped: ...`)."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("deliver runs as an RQ job")
    connection, keys = job.connection, Keys(prefix)
    config = context.config()  # before the claim: a worker without one leaves it queued
    claim = call(connection, keys, "deliver_claim", case_id, entry_id)
    if not claim["claimed"]:
        return f"skipped: {claim['delivery']}"
    channel, delivery = delivery_of(connection, keys, case_id, entry_id)
    outcome, detail = _send(config, channel, delivery)
    if outcome == "retrying" and claim["attempt"] >= MAX_ATTEMPTS:
        outcome, detail = "failed", f"gave up after {claim['attempt']} attempts: {detail}"
    call(connection, keys, "deliver_done", case_id, entry_id, outcome, detail)
    if outcome == "retrying":
        _again(job, prefix, case_id, entry_id, claim["attempt"])
    log.info("case %s entry %s: %s %s", case_id, entry_id, outcome, detail)
    return outcome


def _send(config: Config, channel: str, delivery: Delivery) -> tuple[str, str]:
    sender = SENDERS.get(channel)
    if sender is None:
        return "failed", f"no sender for channel {channel!r}"
    try:
        return "sent", sender(config, delivery)
    except Deferred as error:
        return "retrying", str(error)
    except Failed as error:
        return "failed", str(error)
    except Exception as error:  # a sender's bug: the entry must not stay `sending` unexplained
        log.exception("sender for %s failed on case %s", channel, delivery.case_id)
        return "failed", f"{type(error).__name__}: {error}"


def _again(job: Job, prefix: str, case_id: int, entry_id: str, attempt: int) -> None:
    """The next attempt: a job of its own (same path, description and meta), scheduled."""
    delay = timedelta(seconds=BACKOFF[attempt - 1])
    next_id = job_id(prefix, case_id, entry_id, attempt + 1)
    queue = Queue(job.origin, connection=job.connection)
    retry = Retry(max=len(DELIVER_RETRIES), interval=list(DELIVER_RETRIES))
    queue.enqueue_in(
        delay, job.func_name or JOB, prefix, case_id, entry_id, job_id=next_id, retry=retry,
        description=job.description, meta={**job.meta, "attempt": attempt + 1},
    )  # fmt: skip
