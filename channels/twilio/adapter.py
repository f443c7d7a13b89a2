"""`POST /hooks/twilio/sms`: verified as Twilio signs it, parsed, answered with empty TwiML.

The signature covers `[gateway].public_url` + path + query (`Delivery.url`). A repeated
MessageSid is the same delivery: the intake stores it once. Media are fetched later by a worker
job (worker/jobs/media.py).
"""

from __future__ import annotations

from channels.base import Delivery, Reply, Stored
from channels.message import InboundMessage
from channels.rejection import Rejected
from channels.twilio import signature, sms
from channels.twilio_settings import TwilioSettings

MAX_SMS = 64 * 1024  # a Messaging webhook is a few hundred bytes; ten media URLs stay far below


def parse_sms(delivery: Delivery, settings: TwilioSettings | None, region: str) -> InboundMessage:
    if settings is None:
        raise Rejected("webhook_disabled", "Twilio is not configured ([channels.twilio]).")
    token = settings.auth_token.reveal()
    form = signature.verify(token, delivery.url, delivery.headers, delivery.body)
    return sms.parse(form, region).message


def answer_sms(delivery: Delivery, settings: TwilioSettings | None, stored: Stored | None) -> Reply:
    return Reply(200, sms.twiml_empty().encode(), "text/xml")
