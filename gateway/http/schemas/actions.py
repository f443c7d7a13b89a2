"""Bodies of the case actions that go through routing: accept, pause, transfer."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from channels.types import NotBlank, Text

Rfc3339 = Annotated[
    str,
    Meta(
        description="RFC 3339 with a zone (Z or +hh:mm), from 2000 to 2999.",
        examples=["2026-12-03T15:00:00Z"],
    ),
]


class Accept(msgspec.Struct, kw_only=True):
    """Optional body; an offer is accepted by its id."""

    offer_id: Text | None = None


class Pause(msgspec.Struct, kw_only=True):
    reason: Annotated[NotBlank, Meta(examples=["waiting for the client"])]
    until: Rfc3339 | None = None


class Transfer(msgspec.Struct, kw_only=True):
    """`operator` or `service` (an id of the config); the operator is taken when both are."""

    operator: Annotated[NotBlank, Meta(examples=["boris"])] | None = None
    service: Annotated[NotBlank, Meta(examples=["billing"])] | None = None
