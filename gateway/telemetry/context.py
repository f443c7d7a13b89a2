"""The id of the request or mail being handled, in every log line written while handling it.

A contextvar: each aiohttp request and each SMTP connection runs in its own task, so concurrent
requests never see each other's id. An IMAP poller sets one per mail it stores; an RQ job runs
under the id of the request (or mail) whose step wrote its outbox entry (its meta `request_id`).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="")
HEADER = "X-Request-Id"
SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")  # what a proxy or a client would send


class _Ids:
    """16 hex digits: 8 random per process (made anew in a forked child), then a counter; no
    system call per request (os.urandom was one, on every request's path)."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix = os.urandom(4).hex()
        self.counter = itertools.count()

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter) & 0xFFFFFFFF:08x}"


_IDS = _Ids()


def new_id() -> str:
    return _IDS.next()


def request_id(incoming: str | None) -> str:
    """The caller's id when it is a sane token (no spaces, quotes or control characters that
    would forge log lines), else a new one."""
    if incoming and SANE.fullmatch(incoming):
        return incoming
    return new_id()


@contextmanager
def handling(rid: str) -> Iterator[None]:
    """Log lines written inside carry `rid` (none when empty); the previous id afterwards."""
    token = REQUEST_ID.set(rid)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)
