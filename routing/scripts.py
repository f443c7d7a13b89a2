"""Calls into the Lua function library (routing/library.py), loaded once per server.

Every method is one atomic Redis step (FCALL; FCALL_RO for reads); a refusal comes back as
`RoutingRefused(code)`. A server that lost the library (restarted without persistence,
FLUSHALL, a failover to a node that never had it) answers "Function not found": the library is
loaded again and the call repeated, like EVALSHA's NOSCRIPT fallback. The client may be a plain
`redis.asyncio.Redis` (single node, Sentinel) or a `redis.asyncio.cluster.RedisCluster`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from channels import fastjson
from channels.errors import StorageUnavailable
from routing.errors import RoutingRefused
from routing.keys import Keys
from routing.library import Library, build

LIBRARY = build()
Window = tuple[int, bool]  # the edit window in ms, and whether the admin acts (no window)
NOT_FOUND = "Function not found"
Observe = Callable[[str, float], None]  # (function name, seconds): latency metrics, if wanted
RequestId = Callable[[], str]  # the id of the request or mail being handled ('' for none)
UNSUPPORTED = "the Redis server has no Lua functions: the gateway needs Redis >= 7 or Valkey >= 8"


class FunctionsUnsupported(Exception):
    """The server has no FUNCTION/FCALL (Redis < 7): the gateway cannot run on it."""


class Scripts:
    def __init__(
        self,
        client: aioredis.Redis | RedisCluster,
        keys: Keys,
        library: Library = LIBRARY,
        replicas: tuple[int, int] = (0, 0),
        observe: Observe | None = None,
        request_id: RequestId = str,
    ):
        """`request_id`: what each step writes on its outbox entries (ARGV[2], routing/library.py),
        so the jobs they become log under the id of the request that asked for them."""
        self.keys = keys
        self._observe = observe
        self._request_id = request_id
        self.library = library
        self.replicas = replicas  # (count, timeout ms): what a write waits for, see _once
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
        fixed = (*self._keys, now_ms, self._request_id())
        argv = (self.library.function(name), len(self._keys), *fixed, *args)
        started = time.perf_counter()
        try:
            raw = await self._call(call, argv, read_only)
        except ResponseError as error:
            if _lacks_functions(error):
                raise FunctionsUnsupported(f"{UNSUPPORTED} ({error})") from error
            located = self.library.locate(str(error))
            if located == str(error):
                raise  # keeps its type: ReadOnlyError during a failover is a 503, not a 500
            raise type(error)(located) from error
        if self._observe is not None:
            self._observe(name, time.perf_counter() - started)
        result: dict[str, Any] = fastjson.loads(raw)
        if "error" in result:
            raise RoutingRefused(result["error"], result)
        return result

    async def _call(self, call: Callable[..., Any], argv: tuple[Any, ...], read_only: bool) -> Any:
        """The call, repeated once after loading the library when the server lacks it."""
        try:
            return await self._once(call, argv, read_only)
        except ResponseError as error:
            if str(error) != NOT_FOUND:
                raise
        await self.load()
        return await self._once(call, argv, read_only)

    async def _once(self, call: Callable[..., Any], argv: tuple[Any, ...], read_only: bool) -> Any:
        """With `replicas`, a write and a WAIT on one connection (WAIT counts that connection's
        writes): a failover then cannot lose what was acknowledged; too few in time is a 503."""
        count, timeout_ms = self.replicas
        if read_only or not count:
            return await call(*argv)
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.fcall(*argv)
            pipe.execute_command("WAIT", count, timeout_ms)
            raw, acknowledged = await pipe.execute(raise_on_error=False)
        for answer in (raw, acknowledged):
            if isinstance(answer, Exception):
                raise answer  # as it came: redis-py's pipeline would reword it
        if acknowledged < count:
            raise StorageUnavailable(f"The write reached {acknowledged} of {count} replicas.")
        return raw

    async def intake(self, now_ms: int, message: str, entry: str) -> dict[str, Any]:
        return await self._run("intake", now_ms, message, entry)

    async def sync(
        self, now_ms: int, routing_config: dict[str, Any], version: str
    ) -> dict[str, Any]:
        return await self._run("sync", now_ms, json.dumps(routing_config), version)

    async def upgrade(self, now_ms: int, name: str, batch: int) -> dict[str, Any]:
        """One batch of stored-data upgrade `name` (routing/upgrades.py)."""
        return await self._run("upgrade", now_ms, name, batch)

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
        self,
        now_ms: int,
        case_id: int,
        actor: str,
        *,
        by_timer: bool = False,
        shift: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """`shift`: the due times computed on the case's schedule (gateway/deadlines.py);
        without it the clock moves by the paused wall-clock time."""
        timer = "1" if by_timer else "0"
        return await self._run("resume", now_ms, case_id, actor, timer, *shift)

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

    async def call_event(self, now_ms: int, message: str, event: str) -> dict[str, Any]:
        """One phone-call event (routing/lua/calls.lua): the case found or opened by `message`
        (as `intake`'s, without dedupe), then the call's course moved on by `event`."""
        return await self._run("call_event", now_ms, message, "", event)

    async def chat_reply(
        self, now_ms: int, case_id: int, actor: str, text: str, channel: str
    ) -> dict[str, Any]:
        """Store an operator's chat message and publish it on `channel`: `{position}`."""
        return await self._run("chat_reply", now_ms, case_id, actor, text, channel)

    async def chat_message(
        self, now_ms: int, message: str, entry: str, session: str, per_minute: int
    ) -> dict[str, Any]:
        """intake's step after counting the message in the session's minute: intake's result
        and `position`; `rate_limited` over `per_minute` (nothing stored)."""
        return await self._run("chat_message", now_ms, message, entry, session, per_minute)

    async def chat_delivered(self, now_ms: int, sent: Sequence[tuple[int, int]]) -> dict[str, Any]:
        """Mark the (case id, timeline position) messages `sent`: `{marked}`, how many were not."""
        pairs = [value for mark in sent for value in mark]
        return await self._run("chat_delivered", now_ms, *pairs)

    async def chat_identity(
        self, now_ms: int, contact_id: str, phone: str, email: str
    ) -> dict[str, Any]:
        return await self._run("chat_identity", now_ms, contact_id, phone, email)

    async def sla_fire(self, now_ms: int, case_id: int, policy: str) -> dict[str, Any]:
        return await self._run("sla_fire", now_ms, case_id, policy)

    async def sla_set(self, now_ms: int, rows: list[list[Any]]) -> dict[str, Any]:
        return await self._run("sla_set", now_ms, json.dumps(rows))

    async def set_category(
        self, now_ms: int, contact_id: str, actor: str, category: str | None
    ) -> dict[str, Any]:
        return await self._run("set_category", now_ms, contact_id, actor, category or "")

    async def callback(
        self, now_ms: int, case_id: int, actor: str, kind: str, due_ms: int, note: str
    ) -> dict[str, Any]:
        return await self._run("callback", now_ms, case_id, actor, kind, due_ms, note)

    async def callback_due(
        self, now_ms: int, case_id: int, shift: tuple[str, ...], grace_ms: int
    ) -> dict[str, Any]:
        return await self._run("callback_due", now_ms, case_id, *shift, grace_ms)

    async def callback_attempt(
        self,
        now_ms: int,
        case_id: int,
        actor: str,
        reached: bool,
        note: str,
        retry: tuple[int, int],
    ) -> dict[str, Any]:
        """`retry`: (the next attempt's due ms, max attempts)."""
        args = (case_id, actor, "1" if reached else "0", note, *retry)
        return await self._run("callback_attempt", now_ms, *args)

    async def callback_missed(self, now_ms: int, case_id: int) -> dict[str, Any]:
        return await self._run("callback_missed", now_ms, case_id)

    async def provider_status(
        self, now_ms: int, scope: str, message_id: str, status: str, error: str
    ) -> dict[str, Any]:
        """A delivery status callback: `{known, changed?, delivery?}`."""
        return await self._run("provider_status", now_ms, scope, message_id, status, error)

    async def note(
        self, now_ms: int, case_id: int, author: str, text: str, window_ms: int, admin: bool
    ) -> dict[str, Any]:
        """`window_ms`: how long after resolve an operator may still add one."""
        return await self._run("note", now_ms, case_id, author, text, window_ms, int(admin))

    async def wf_patch(
        self, now_ms: int, case_id: int, actor: str, changes: str, catalogue: str, context: str
    ) -> dict[str, Any]:
        """routing/lua/workflow.lua: JSON arguments as gateway/workflow.py builds them."""
        return await self._run("wf_patch", now_ms, case_id, actor, changes, catalogue, context)

    async def wf_classify(
        self, now_ms: int, case_id: int, actor: str, changes: str, catalogue: str, context: str
    ) -> dict[str, Any]:
        return await self._run("wf_classify", now_ms, case_id, actor, changes, catalogue, context)

    async def wf_reopen(
        self, now_ms: int, case_id: int, actor: str, catalogue: str, window_ms: int, due: str
    ) -> dict[str, Any]:
        return await self._run("wf_reopen", now_ms, case_id, actor, catalogue, window_ms, due)

    async def reply(
        self, now_ms: int, case_id: int, actor: str, text: str, channels: Sequence[str]
    ) -> dict[str, Any]:
        """The out message and its outbox entry; `channels`: those a sender can deliver."""
        return await self._run("reply", now_ms, case_id, actor, text, ",".join(channels))

    async def move(
        self, now_ms: int, case_id: int, actor: str, entry: str, to_case: int, window_ms: int
    ) -> dict[str, Any]:
        """The entry and its notes moved to `to_case`: `{entry, to_case}` (lua/move.lua);
        `window_ms`: how long after resolve an operator may still move from or to a case."""
        return await self._run("move", now_ms, case_id, actor, entry, to_case, window_ms)

    async def entry_note(
        self, now_ms: int, case_id: int, author: str, entry: str, text: str, window: Window
    ) -> dict[str, Any]:
        """A note on one entry: `{id, entry}` (the stored note)."""
        args = (case_id, author, entry, text, window[0], int(window[1]))
        return await self._run("entry_note", now_ms, *args)

    async def note_edit(
        self, now_ms: int, case_id: int, author: str, entry: str, text: str, window: Window
    ) -> dict[str, Any]:
        """The author's note with a new text: `{id, entry}`."""
        args = (case_id, author, entry, text, window[0], int(window[1]))
        return await self._run("note_edit", now_ms, *args)

    async def rate_limit(self, scope: str, who: str, per_minute: int) -> dict[str, Any]:
        """One request of `who` in `scope` counted: `{allowed, retry_after_ms}` (limits.lua;
        the server's clock, so the `now` passed is only the calling convention's)."""
        return await self._run("rate_limit", 0, scope, who, per_minute)


def _lacks_functions(error: ResponseError) -> bool:
    """Redis < 7 answers "unknown command 'FUNCTION'" (or `FCALL`, 'FCALL_RO', ...)."""
    command = str(error).lower().partition(", with args")[0]
    return command.startswith("unknown command") and ("function" in command or "fcall" in command)
