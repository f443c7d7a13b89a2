"""`PUT /api/operators/{id}/presence`."""

from __future__ import annotations

from typing import Literal

import msgspec

Presence = Literal["available", "away", "offline"]


class PresenceChange(msgspec.Struct, kw_only=True):
    presence: Presence
