"""The contract of every outbound sender: `send(settings, delivery) -> provider message id`.

A sender raises `Deferred` when the same message may be tried again later (a 4xx, 5xx of an
HTTP API, 429, a timeout) and `Failed` when retrying cannot help; the worker job
(worker/jobs/outbound.py) records either on the timeline entry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Delivery:
    case_id: int
    entry_id: str  # the `out` message's timeline entry id: unique within the case
    to: str  # the contact's address on the channel (e-mail, E.164 number)
    text: str
    subject: str = ""  # the case's subject (mail)
    in_reply_to: str = ""  # Message-ID of the last customer mail on the case (mail)
    references: tuple[str, ...] = ()
    auto: bool = False  # the gateway's own automatic message (an acknowledgement), no person's
    provider: str = ""  # SMS: the dedupe scope the case came in by ("twilio-sms", "sms")
    sender: str = ""  # SMS: the gateway's number the customer last wrote to (the reply's From)


class Deferred(Exception):
    """Transient: the same delivery may be tried again later."""


class Failed(Exception):
    """Permanent: the provider refused it for good."""
