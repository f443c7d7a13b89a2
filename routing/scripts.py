"""Calls into the Lua function library (routing/library.py), loaded once per server.

Every method is one atomic Redis step (FCALL; FCALL_RO for reads); a refusal comes back as
`RoutingRefused(code)`. A server that lost the library (restarted without persistence,
FLUSHALL, a failover to a node that never had it) answers "Function not found": the library is
loaded again and the call repeated, like EVALSHA's NOSCRIPT fallback. The client may be a plain
`redis.asyncio.Redis` (single node, Sentinel) or a `redis.asyncio.cluster.RedisCluster`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from channels import fastjson
from routing.errors import RoutingRefused
from routing.keys import Keys
from routing.library import Library, build

LIBRARY = build()
NOT_FOUND = "Function not found"
UNSUPPORTED = "the Redis server has no Lua functions: the gateway needs Redis >= 7 or Valkey >= 8"


class FunctionsUnsupported(Exception):
    """The server has no FUNCTION/FCALL (Redis < 7): the gateway cannot run on it."""


class Scripts:
    def __init__(
        self,
        client: aioredis.Redis | RedisCluster,
        keys: Keys,
        library: Library = LIBRARY,
    ):
        self.keys = keys
        self.library = library
        self._client = client
        self._keys = [key.encode() for key in keys.function_keys]  # bytes: packed as they are

    async def load(self) -> None:
        """FUNCTION LOAD REPLACE on the server (every primary of a cluster)."""
        try:
            await cast(Awaitable[Any], self._client.function_load(self.library.source, True))
        except ResponseError as error:
            if _lacks_functions(error):
                raise FunctionsUnsupported(f"{UNSUPPORTED} ({error})") from error
            raise

    async def _run(
        self, name: str, now_ms: int, *args: Any, read_only: bool = False
    ) -> dict[str, Any]:
        call = self._client.fcall_ro if read_only else self._client.fcall
        argv = (self.library.function(name), len(self._keys), *self._keys, now_ms, *args)
        try:
            raw = await self._call(call, argv)
        except ResponseError as error:
            if _lacks_functions(error):
                raise FunctionsUnsupported(f"{UNSUPPORTED} ({error})") from error
            located = self.library.locate(str(error))
            if located == str(error):
                raise  # keeps its type: ReadOnlyError during a failover is a 503, not a 500
            raise type(error)(located) from error
        result: dict[str, Any] = fastjson.loads(raw)
        if "error" in result:
            raise RoutingRefused(result["error"])
        return result

    async def _call(self, call: Callable[..., Any], argv: tuple[Any, ...]) -> Any:
        """The call, repeated once after loading the library when the server lacks it."""
        try:
            return await call(*argv)
        except ResponseError as error:
            if str(error) != NOT_FOUND:
                raise
        await self.load()
        return await call(*argv)

    async def intake(self, now_ms: int, message: str, entry: str) -> dict[str, Any]:
        return await self._run("intake", now_ms, message, entry)

    async def sync(
        self, now_ms: int, routing_config: dict[str, Any], version: str
    ) -> dict[str, Any]:
        return await self._run("sync", now_ms, json.dumps(routing_config), version)

    async def accept(self, now_ms: int, case_id: int, actor: str, offer_id: str) -> dict[str, Any]:
        return await self._run("accept", now_ms, case_id, actor, offer_id)

    async def decline(self, now_ms: int, case_id: int, actor: str) -> dict[str, Any]:
        return await self._run("decline", now_ms, case_id, actor)

    async def expire(self, now_ms: int, case_id: int) -> dict[str, Any]:
        return await self._run("expire", now_ms, case_id, "")

    async def resolve(self, now_ms: int, case_id: int, actor: str) -> dict[str, Any]:
        return await self._run("resolve", now_ms, case_id, actor)

    async def pause(
        self, now_ms: int, case_id: int, actor: str, reason: str, until_ms: int | None
    ) -> dict[str, Any]:
        until = "" if until_ms is None else str(until_ms)
        return await self._run("pause", now_ms, case_id, actor, reason, until)

    async def resume(
        self, now_ms: int, case_id: int, actor: str, *, by_timer: bool = False
    ) -> dict[str, Any]:
        return await self._run("resume", now_ms, case_id, actor, "1" if by_timer else "0")

    async def transfer(
        self, now_ms: int, case_id: int, actor: str, kind: str, target: str, force: bool
    ) -> dict[str, Any]:
        args = (case_id, actor, kind, target, "1" if force else "0")
        return await self._run("transfer", now_ms, *args)

    async def presence(self, now_ms: int, operator: str, presence: str) -> dict[str, Any]:
        return await self._run("presence", now_ms, operator, presence)

    async def explain(
        self, now_ms: int, service: str, channel: str, contact_id: str, case_id: int
    ) -> dict[str, Any]:
        args = (service, channel, contact_id, case_id)
        return await self._run("explain", now_ms, *args, read_only=True)

    async def set_owner(
        self, now_ms: int, contact_id: str, actor: str, owner: str | None
    ) -> dict[str, Any]:
        return await self._run("set_owner", now_ms, contact_id, actor, owner or "")


def _lacks_functions(error: ResponseError) -> bool:
    """Redis < 7 answers "unknown command 'FUNCTION'" (or `FCALL`, 'FCALL_RO', ...)."""
    command = str(error).lower().partition(", with args")[0]
    return command.startswith("unknown command") and ("function" in command or "fcall" in command)
