"""Generic SMS webhook: `{"id","from","to","text","received_at"?}`, signed (X-Intake-Signature)."""

from __future__ import annotations

from channels import schema, signature, validate
from channels.base import Delivery, Reply, Stored, require_type
from channels.message import InboundMessage
from channels.phones import normalize
from channels.sms.body import SmsBody
from channels.sms.settings import SmsSettings

MAX_BODY = 64 * 1024


def _required(value: str | int, name: str) -> str:
    return validate.text(value, name, required=True, allow_empty=False)


def parse(delivery: Delivery, settings: SmsSettings | None, region: str) -> InboundMessage:
    secret = settings.secret if settings else None
    signature.verify(secret, delivery.headers.get("X-Intake-Signature"), delivery.body)
    require_type(delivery.content_type, "application/json")
    body = schema.decode(delivery.body, SmsBody)
    received = body.received_at
    return InboundMessage(
        channel="sms",
        dedupe_scope="sms",
        delivery_id=_required(body.id, "id"),
        sender_phone=normalize(_required(body.sender, "from"), region),
        to=normalize(_required(body.to, "to"), region),
        text=validate.text(body.text, "text", required=True),
        received_at=None if received is None else validate.moment(received, "received_at"),
        threading="sms",
    )


def answer(delivery: Delivery, settings: SmsSettings | None, stored: Stored | None) -> Reply:
    assert stored is not None  # `parse` never ignores a delivery
    return Reply.json({"case_id": stored.case_id, "contact_id": stored.contact_id})
