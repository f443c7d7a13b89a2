"""The Lua scripts registered once per Redis client (EVALSHA, loaded again after a flush)."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from routing import lua
from routing.keys import Keys


class Scripts:
    """One registered script per deciding state change; `run` returns the decoded JSON."""

    def __init__(self, client: aioredis.Redis, keys: Keys):
        self.keys = keys
        self._intake = client.register_script(lua.INTAKE)

    async def _run(self, script: AsyncScript, now_ms: int, *args: Any) -> dict[str, Any]:
        raw = await script(keys=[], args=[self.keys.prefix, now_ms, *args])
        result: dict[str, Any] = json.loads(raw)
        return result

    async def intake(self, now_ms: int, message: str, blobs: list[bytes]) -> dict[str, Any]:
        return await self._run(self._intake, now_ms, message, *blobs)
