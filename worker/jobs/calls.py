"""The Lua function library called from jobs: the blocking client RQ gives them.

The same library and KEYS as routing/scripts.py (which is asyncio only); a server that lost
the library gets it loaded again, like there.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError

from gateway.telemetry.context import REQUEST_ID
from routing.errors import RoutingRefused
from routing.keys import Keys
from routing.scripts import LIBRARY, NOT_FOUND


def call(connection: Redis, keys: Keys, name: str, *args: Any) -> dict[str, Any]:
    function_keys = keys.function_keys
    now_ms = int(time.time() * 1000)
    fixed = (*function_keys, now_ms, REQUEST_ID.get())  # the job's own (CountedWorker sets it)
    argv = (LIBRARY.function(name), len(function_keys), *fixed, *args)
    try:
        raw = connection.fcall(*argv)
    except ResponseError as error:
        if str(error) != NOT_FOUND:
            raise
        connection.function_load(LIBRARY.source, replace=True)
        raw = connection.fcall(*argv)
    result: dict[str, Any] = json.loads(raw)
    if "error" in result:
        raise RoutingRefused(result["error"])
    return result
