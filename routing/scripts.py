"""The Lua scripts, registered once per Redis client (EVALSHA, loaded again after a flush).

Every method is one atomic Redis step; a refusal comes back as `RoutingRefused(code)`.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from channels import fastjson
from routing import lua
from routing.errors import RoutingRefused
from routing.keys import Keys


class Scripts:
    def __init__(self, client: aioredis.Redis, keys: Keys):
        self.keys = keys
        reg = client.register_script
        self._intake = reg(lua.INTAKE)
        self._sync = reg(lua.SYNC)
        self._accept = reg(lua.ACCEPT)
        self._decline = reg(lua.DECLINE)
        self._expire = reg(lua.EXPIRE)
        self._resolve = reg(lua.RESOLVE)
        self._pause = reg(lua.PAUSE)
        self._resume = reg(lua.RESUME)
        self._transfer = reg(lua.TRANSFER)
        self._presence = reg(lua.PRESENCE)
        self._explain = reg(lua.EXPLAIN)
        self._owner = reg(lua.OWNER)

    async def _run(self, script: AsyncScript, now_ms: int, *args: Any) -> dict[str, Any]:
        raw = await script(keys=[], args=[self.keys.prefix, now_ms, *args])
        result: dict[str, Any] = fastjson.loads(raw)
        if "error" in result:
            raise RoutingRefused(result["error"])
        return result

    async def intake(
        self, now_ms: int, message: str, entry: str, blobs: list[bytes]
    ) -> dict[str, Any]:
        return await self._run(self._intake, now_ms, message, entry, *blobs)

    async def sync(
        self, now_ms: int, routing_config: dict[str, Any], version: str
    ) -> dict[str, Any]:
        return await self._run(self._sync, now_ms, json.dumps(routing_config), version)

    async def accept(self, now_ms: int, case_id: int, actor: str, offer_id: str) -> dict[str, Any]:
        return await self._run(self._accept, now_ms, case_id, actor, offer_id)

    async def decline(self, now_ms: int, case_id: int, actor: str) -> dict[str, Any]:
        return await self._run(self._decline, now_ms, case_id, actor)

    async def expire(self, now_ms: int, case_id: int) -> dict[str, Any]:
        return await self._run(self._expire, now_ms, case_id, "")

    async def resolve(self, now_ms: int, case_id: int, actor: str) -> dict[str, Any]:
        return await self._run(self._resolve, now_ms, case_id, actor)

    async def pause(
        self, now_ms: int, case_id: int, actor: str, reason: str, until_ms: int | None
    ) -> dict[str, Any]:
        until = "" if until_ms is None else str(until_ms)
        return await self._run(self._pause, now_ms, case_id, actor, reason, until)

    async def resume(
        self, now_ms: int, case_id: int, actor: str, *, by_timer: bool = False
    ) -> dict[str, Any]:
        return await self._run(self._resume, now_ms, case_id, actor, "1" if by_timer else "0")

    async def transfer(
        self, now_ms: int, case_id: int, actor: str, kind: str, target: str, force: bool
    ) -> dict[str, Any]:
        args = (case_id, actor, kind, target, "1" if force else "0")
        return await self._run(self._transfer, now_ms, *args)

    async def presence(self, now_ms: int, operator: str, presence: str) -> dict[str, Any]:
        return await self._run(self._presence, now_ms, operator, presence)

    async def explain(
        self, now_ms: int, service: str, channel: str, contact_id: str, case_id: int
    ) -> dict[str, Any]:
        return await self._run(self._explain, now_ms, service, channel, contact_id, case_id)

    async def set_owner(
        self, now_ms: int, contact_id: str, actor: str, owner: str | None
    ) -> dict[str, Any]:
        return await self._run(self._owner, now_ms, contact_id, actor, owner or "")
