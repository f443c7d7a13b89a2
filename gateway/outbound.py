"""The outbound senders by channel (which channels can deliver a reply, and how) and the job.

Each sender is blocking (smtplib, urllib) and runs in a worker job (worker/jobs/outbound.py);
the reply endpoint only asks which channels have one. An SMS case is answered by the provider
it came in by: Twilio's REST API for a Twilio case, `[channels.sms].outbound_url` for the
others. Phone and web-form cases have none: a reply to them is refused with 409
`no_outbound_channel`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from channels.email import outbound as email_outbound
from channels.email.threading import SubjectTag
from channels.outbound import Delivery, Failed
from channels.sms import outbound as sms_outbound
from channels.twilio import outbound as twilio_outbound
from channels.twilio import sms as twilio_sms
from channels.twilio import status as twilio_status
from gateway.config import Config

Sender = Callable[[Config, Delivery], str]

QUEUE = "intake"  # the RQ queue every worker listens on (worker/queues.py)
# RQ jobs by dotted path of what they do (worker/jobs/__init__.py): the gateway imports no job
# code, and rq-dashboard lists them by these names.
JOB = "worker.jobs.send_reply"  # a reply by its case's channel (an entry that names none)
JOBS = {"email": "worker.jobs.send_email", "sms": "worker.jobs.send_sms"}  # by channel
MEDIA_JOB = "worker.jobs.fetch_media"
# RQ's own retries, for a run that raised (Redis away, a worker without the config): a delivery
# claims its attempt in Lua first, so a rerun never sends twice. Media: a transient refusal.
DELIVER_RETRIES = (10, 60, 300)  # seconds
MEDIA_RETRIES = (30, 120, 600)


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
    if delivery.provider == twilio_sms.SCOPE:
        return _twilio(config, delivery)
    sms = config.channels.sms
    if sms is None or not sms.outbound_url:
        raise Failed("[channels.sms].outbound_url is not configured")
    return sms_outbound.send(sms, delivery)


def _twilio(config: Config, delivery: Delivery) -> str:
    twilio = config.channels.twilio
    if twilio is None:
        raise Failed("[channels.twilio] is not configured")
    if not delivery.sender:
        raise Failed("the case has no Twilio number the customer wrote to")
    callback = config.public_url.rstrip("/") + twilio_status.PATH if twilio.status_callback else ""
    return twilio_outbound.send_sms(
        twilio, delivery.to, delivery.sender, delivery.text, status_callback=callback
    )


SENDERS: dict[str, Sender] = {"email": _email, "sms": _sms}


def enabled(config: Config) -> tuple[str, ...]:
    """The channels whose replies this config can send."""
    email, sms, twilio = config.channels.email, config.channels.sms, config.channels.twilio
    on = {
        "email": bool(email and email.smtp_out),
        "sms": bool((sms and sms.outbound_url) or twilio),
    }
    return tuple(channel for channel in SENDERS if on[channel])
