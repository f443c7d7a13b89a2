"""The generic SMS webhook's body: `{"id","from","to","text","received_at"?}`."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from channels.types import ProviderText, Time


class SmsBody(msgspec.Struct, kw_only=True):
    id: ProviderText
    sender: ProviderText = msgspec.field(name="from")
    to: ProviderText
    # Required, but checked after the others (a wrong `id` is named before a missing text).
    text: Annotated[ProviderText | None, Meta(description="Required; may be empty.")] = None
    received_at: Time | None = None
