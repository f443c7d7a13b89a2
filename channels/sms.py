"""Generic SMS webhook: `{"id","from","to","text","received_at"?}`, signed (X-Intake-Signature)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from channels import signature
from channels.errors import InvalidField
from channels.http import parse_json_object, read_limited, require_type, text_field
from channels.message import InboundMessage
from channels.phones import normalize
from channels.sms_settings import SmsSettings

MAX_BODY = 64 * 1024


def _received_at(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise InvalidField("'received_at' must be RFC 3339 or unix seconds.", field="received_at")


async def parse(request: web.Request, settings: SmsSettings | None, region: str) -> InboundMessage:
    raw = await read_limited(request, MAX_BODY)
    secret = settings.secret if settings else None
    signature.verify(secret, request.headers.get("X-Intake-Signature"), raw)
    require_type(request, "application/json")
    body = parse_json_object(raw)
    return InboundMessage(
        channel="sms",
        dedupe_scope="sms",
        delivery_id=text_field(body, "id"),
        sender_phone=normalize(text_field(body, "from"), region),
        to=normalize(text_field(body, "to"), region),
        text=text_field(body, "text", allow_empty=True),
        received_at=_received_at(body.get("received_at")),
        threading="sms",
    )
