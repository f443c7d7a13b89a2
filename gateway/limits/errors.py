"""The refusal of a request over its limit (HTTP 429 with Retry-After; a chat `error` frame)."""

from __future__ import annotations

from channels.errors import IntakeError


class RateLimited(IntakeError):
    default_code = "rate_limited"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after  # whole seconds, at least 1
