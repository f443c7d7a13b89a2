"""Twilio's delivery status callback for an outbound SMS (the `StatusCallback` it was sent with).

Form fields: `MessageSid`, `MessageStatus`, `ErrorCode` (for undelivered/failed). The order of
the statuses and what each means for the entry's `delivery` live in routing/lua/outbox.lua.
"""

from __future__ import annotations

from dataclasses import dataclass

from channels.rejection import invalid
from channels.twilio import sids
from channels.urlencoded import Form

PATH = "/hooks/twilio/sms/status"
STATUSES = frozenset(
    {"accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered", "failed",
     "canceled", "read"}
)  # fmt: skip


@dataclass(frozen=True)
class SmsStatus:
    message_sid: str
    status: str
    error: str  # "" unless Twilio gave an error code


def parse(form: Form) -> SmsStatus:
    sid = sids.sid(form, "MessageSid")
    status = form.text("MessageStatus", max_len=32)
    if status not in STATUSES:
        raise invalid("MessageStatus", f"'MessageStatus' {status!r} is not a Twilio SMS status.")
    code = form.text("ErrorCode", required=False, max_len=16)
    if code and not code.isdigit():
        raise invalid("ErrorCode", "'ErrorCode' must be Twilio's numeric error code.")
    error = f"Twilio reported {status}, error {code}" if code else f"Twilio reported {status}"
    return SmsStatus(sid, status, error)
