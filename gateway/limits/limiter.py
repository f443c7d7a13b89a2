"""One request counted against its limit in one Lua step; over it, `RateLimited`."""

from __future__ import annotations

import math

from gateway.limits.errors import RateLimited
from routing.scripts import Scripts


async def charge(scripts: Scripts, scope: str, who: str, per_minute: int) -> None:
    """Count one request of `who` (an address, `op:<id>`) in `scope`; 0 = no limit."""
    if per_minute <= 0:
        return
    result = await scripts.rate_limit(scope, who, per_minute)
    if result["allowed"]:
        return
    wait = max(1, math.ceil(int(result["retry_after_ms"]) / 1000))
    raise RateLimited(
        f"Over the limit of {per_minute} a minute; retry in {wait} s.", retry_after=wait
    )
