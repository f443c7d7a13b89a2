"""Routing's refusals, members of the one family in channels/errors.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channels.errors import Conflict


class RoutingRefused(Conflict):
    """A routing step refused the change: wrong state, not the actor's case, no room..."""

    def __init__(self, code: str, answer: Mapping[str, Any] | None = None):
        super().__init__(f"The routing step refused the change ({code}).", code=code)
        # what the step said besides its code (`case_id` of a duplicate)
        self.answer = {k: v for k, v in (answer or {}).items() if k != "error"}
