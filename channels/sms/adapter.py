"""Generic SMS webhook: `{"id","from","to","text","received_at"?}`, signed (X-Intake-Signature)."""

from __future__ import annotations

from channels import signature, validate
from channels.base import Delivery, Reply, Stored, require_type
from channels.message import InboundMessage
from channels.phones import normalize
from channels.sms.settings import SmsSettings

MAX_BODY = 64 * 1024


def _required(body: dict[str, object], name: str) -> str:
    return validate.text(body.get(name), name, required=True, allow_empty=False)


def parse(delivery: Delivery, settings: SmsSettings | None, region: str) -> InboundMessage:
    secret = settings.secret if settings else None
    signature.verify(secret, delivery.headers.get("X-Intake-Signature"), delivery.body)
    require_type(delivery.content_type, "application/json")
    body = validate.json_object(delivery.body)
    received = body.get("received_at")
    return InboundMessage(
        channel="sms",
        dedupe_scope="sms",
        delivery_id=_required(body, "id"),
        sender_phone=normalize(_required(body, "from"), region),
        to=normalize(_required(body, "to"), region),
        text=validate.text(body.get("text"), "text", required=True),
        received_at=None if received is None else validate.moment(received, "received_at"),
        threading="sms",
    )


def answer(delivery: Delivery, settings: SmsSettings | None, stored: Stored | None) -> Reply:
    assert stored is not None  # `parse` never ignores a delivery
    return Reply.json({"case_id": stored.case_id, "contact_id": stored.contact_id})
