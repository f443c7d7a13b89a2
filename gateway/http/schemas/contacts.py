"""`PATCH /api/contacts/{id}`: a field left out is left as it is; null clears it."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

Id = Annotated[str, Meta(description="An id of the config.")]


class ContactChange(msgspec.Struct, kw_only=True):
    """At least one of `owner` (an operator id) and `category` (a [[client_categories]] id)."""

    owner: Annotated[Id, Meta(examples=["anna"])] | UnsetType | None = UNSET
    category: Annotated[Id, Meta(examples=["vip"])] | UnsetType | None = UNSET
