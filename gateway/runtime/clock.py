"""The time source shared by intake, the actions and the timers; tests set one by hand."""

from __future__ import annotations

import time


class Clock:
    """Wall-clock milliseconds since the epoch."""

    def now_ms(self) -> int:
        return int(time.time() * 1000)


class SettableClock(Clock):
    """A clock that stands still until moved: deadlines hours away are reached at once."""

    def __init__(self, now_ms: int) -> None:
        self.ms = now_ms

    def now_ms(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)
