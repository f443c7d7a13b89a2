"""Generic SMS webhook: `{"id","from","to","text","received_at"?}`, signed (X-Intake-Signature)."""

from __future__ import annotations

from aiohttp import web

from channels import signature, validate
from channels.message import InboundMessage
from channels.phones import normalize
from channels.sms.settings import SmsSettings
from gateway.http.body import read_limited, require_type

MAX_BODY = 64 * 1024


def _required(body: dict[str, object], name: str) -> str:
    return validate.text(body.get(name), name, required=True, allow_empty=False)


async def parse(request: web.Request, settings: SmsSettings | None, region: str) -> InboundMessage:
    raw = await read_limited(request, MAX_BODY)
    secret = settings.secret if settings else None
    signature.verify(secret, request.headers.get("X-Intake-Signature"), raw)
    require_type(request, "application/json")
    body = validate.json_object(raw)
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
