"""Routing's refusals, members of the one family in channels/errors.py."""

from __future__ import annotations

from typing import Any

from channels.errors import Conflict


class RoutingRefused(Conflict):
    """A routing step refused the change: wrong state, not the actor's case, no room..."""

    def __init__(self, code: str, detail: dict[str, Any] | None = None):
        super().__init__(f"The routing step refused the change ({code}).", code=code)
        self.detail = detail or {}  # the step's whole answer (`field`, `fields`...)
