"""`POST /api/admin/explain`: a message to route (without storing it), or a stored case."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from channels.types import CaseId, ProviderText

Channel = Literal["phone", "chat", "email", "sms", "webform"]  # channels.message.CHANNELS
# Values are checked one by one after the decode, so the error names `fields.<name>`.
Fields = Annotated[
    dict[str, Any],
    Meta(
        description="Form fields by name (strings).",
        extra_json_schema={"additionalProperties": {"type": ["string", "integer", "null"]}},
    ),
]


class Explain(msgspec.Struct, kw_only=True):
    """With `case_id`, the stored case is explained and the other fields are ignored; without
    it, `channel` is required."""

    case_id: CaseId | None = None
    channel: Channel | None = None
    sender: Annotated[ProviderText, Meta(examples=["+79161234567"])] | None = msgspec.field(
        name="from", default=None
    )
    to: ProviderText | None = None
    subject: ProviderText | None = None
    text: ProviderText | None = None
    form: ProviderText | None = None
    fields: Fields | None = None
