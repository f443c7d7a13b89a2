"""`policy.default` with parsed headers remembered: the walk asks a part for its Content-Type
many times (type, charset, disposition, bounce checks) and each ask re-parsed it, which was
most of the time spent on a plain 5 KB mail (bench/smtp.py).

Parsed headers are immutable `str` subclasses, so one parse can serve every ask, and the
common values (`text/plain; charset=utf-8`) many mails.
"""

from __future__ import annotations

import email.policy
from functools import lru_cache
from typing import Any

MAX_CACHED = 1000  # characters: a hostile megabyte header is parsed, not kept


class CachingPolicy(email.policy.EmailPolicy):
    def header_fetch_parse(self, name: str, value: str) -> Any:
        if len(value) > MAX_CACHED:
            return super().header_fetch_parse(name, value)
        return _parsed(self, name, value)


@lru_cache(maxsize=1024)
def _parsed(policy: CachingPolicy, name: str, value: str) -> Any:
    return email.policy.EmailPolicy.header_fetch_parse(policy, name, value)


POLICY = CachingPolicy()
