"""Scheduled callbacks: `POST /api/cases/{id}/callback` and `/callback/attempt`."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from channels.types import ProviderText
from gateway.http.schemas.actions import Rfc3339

Duration = Annotated[str, Meta(description="Like \"90s\", \"30m\", \"4h\", \"2d\"; at most a year.",
                               examples=["30m"])]  # fmt: skip


class Callback(msgspec.Struct, kw_only=True):
    """Exactly one of `at` (moved to the next opening hour of the case's schedule) and `in`."""

    kind: Literal["private", "public"]
    at: Rfc3339 | UnsetType = UNSET
    in_: Duration | UnsetType = msgspec.field(name="in", default=UNSET)
    note: ProviderText | None = None


class Attempt(msgspec.Struct, kw_only=True):
    reached: bool
    note: ProviderText | None = None
