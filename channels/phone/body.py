"""The generic softphone/PBX event's body (SPEC §5), as msgspec decodes it."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from channels.types import ProviderText, Time

Event = Literal["ringing", "answered", "ended", "missed", "transferred"]


class PhoneBody(msgspec.Struct, kw_only=True):
    id: ProviderText
    event: Event
    call_id: ProviderText
    to: ProviderText
    caller: ProviderText | None = msgspec.field(name="from", default=None)
    operator: Annotated[
        ProviderText | None, Meta(description="Required for answered and transferred.")
    ] = None
    duration: Annotated[float, Meta(description="Seconds, not negative.")] | None = None
    recording_url: Annotated[str, Meta(description="An http(s) URL.")] | None = None
    at: Time | None = None
