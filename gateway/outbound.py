"""The outbound senders by channel (which channels can deliver a reply, and how) and the job.

Each sender is blocking (smtplib, urllib) and runs in a worker job (worker/jobs/outbound.py);
the reply endpoint only asks which channels have one. Phone and web-form cases have none: a
reply to them is refused with 409 `no_outbound_channel`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from channels.email import outbound as email_outbound
from channels.email.threading import SubjectTag
from channels.outbound import Delivery, Failed
from channels.sms import outbound as sms_outbound
from gateway.config import Config

Sender = Callable[[Config, Delivery], str]

QUEUE = "intake"  # the RQ queue every worker listens on (worker/queues.py)
JOB = "worker.jobs.outbound.deliver"  # by dotted path: the gateway imports no job code


def job_id(prefix: str, case_id: int | str, entry_id: str, attempt: int = 1) -> str:
    """The job id of one attempt at a delivery (RQ allows [A-Za-z0-9_-] only)."""
    deployment = re.sub(r"[^A-Za-z0-9_-]", "", prefix)
    return f"deliver-{deployment}-{case_id}-{entry_id}-{attempt}"


def _email(config: Config, delivery: Delivery) -> str:
    email = config.channels.email
    if email is None or email.smtp_out is None:
        raise Failed("[channels.email.smtp_out] is not configured")
    return email_outbound.deliver(email.smtp_out, SubjectTag(config.subject_tag), delivery)


def _sms(config: Config, delivery: Delivery) -> str:
    sms = config.channels.sms
    if sms is None or not sms.outbound_url:
        raise Failed("[channels.sms].outbound_url is not configured")
    return sms_outbound.send(sms, delivery)


SENDERS: dict[str, Sender] = {"email": _email, "sms": _sms}


def enabled(config: Config) -> tuple[str, ...]:
    """The channels whose replies this config can send."""
    email, sms = config.channels.email, config.channels.sms
    on = {"email": bool(email and email.smtp_out), "sms": bool(sms and sms.outbound_url)}
    return tuple(channel for channel in SENDERS if on[channel])
