"""The id of the request or mail being handled, in every log line written while handling it.

A contextvar: each aiohttp request and each SMTP connection runs in its own task, so concurrent
requests never see each other's id.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="")
HEADER = "X-Request-Id"
SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")  # what a proxy or a client would send


def new_id() -> str:
    return os.urandom(8).hex()


def request_id(incoming: str | None) -> str:
    """The caller's id when it is a sane token (no spaces, quotes or control characters that
    would forge log lines), else a new one."""
    if incoming and SANE.fullmatch(incoming):
        return incoming
    return new_id()
