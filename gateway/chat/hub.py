"""The visitor sockets one process holds, fed by one pattern subscription to every chat case.

Each process receives every reply and sends those whose case has a socket here; with several
processes or hosts the visitor's own process is the one that answers. A reply published while
this process's subscription is down is not lost: the visitor gets it replayed on reconnect.
Marking replies `sent` is a task of its own: the next reply is not held up by the previous
one's write (an fsync with durability "always"), and marks that pile up go in one step.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import WSCloseCode, web
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels import fastjson
from channels.chat import frames
from gateway.runtime.cancel import raise_if_cancelled
from gateway.runtime.state import Runtime
from gateway.views import rfc3339, text

log = logging.getLogger(__name__)
RETRY = 0.5  # seconds between subscription attempts while Redis is away


class Hub:
    def __init__(self) -> None:
        self._sockets: dict[int, set[web.WebSocketResponse]] = {}
        self.open: set[web.WebSocketResponse] = set()  # every visitor socket, hello or not
        self._sent: list[tuple[int, int]] = []  # (case id, timeline position) to mark sent
        self._have_sent = asyncio.Event()

    def sent(self, case_id: int, position: int) -> None:
        """A reply reached its visitor: `mark_sent` records it."""
        self._sent.append((case_id, position))
        self._have_sent.set()

    async def mark_sent(self, runtime: Runtime) -> None:
        """Forever: what `sent` noted, all at once; kept and retried while Redis is away."""
        while True:
            await self._have_sent.wait()
            self._have_sent.clear()
            marks, self._sent = self._sent, []
            try:
                await runtime.scripts.chat_delivered(int(time.time() * 1000), marks)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                self._sent[:0] = marks
                self._have_sent.set()
                await asyncio.sleep(RETRY)
            raise_if_cancelled()

    async def close_all(self) -> None:
        """On shutdown: open sockets would keep the server from draining."""
        for ws in tuple(self.open):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    def join(self, case_id: int, ws: web.WebSocketResponse) -> None:
        self._sockets.setdefault(case_id, set()).add(ws)

    def leave(self, case_id: int, ws: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(case_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._sockets[case_id]

    async def subscribe(self, runtime: Runtime) -> PubSub:
        pubsub = runtime.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.psubscribe(runtime.keys.chat_channels)
        return pubsub

    async def run(self, runtime: Runtime, pubsub: PubSub | None) -> None:
        """Forever: dispatch, resubscribing after Redis comes back; cancelled on shutdown.

        `pubsub` is subscribed already (at startup: no reply is missed once the app serves)."""
        while True:
            try:
                pubsub = pubsub or await self.subscribe(runtime)
                await self._listen(runtime, pubsub)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                raise_if_cancelled()
                await asyncio.sleep(RETRY)
            finally:
                if pubsub is not None:
                    await pubsub.aclose()
                pubsub = None

    async def _listen(self, runtime: Runtime, pubsub: PubSub) -> None:
        while True:
            message = await pubsub.get_message(timeout=1.0)
            raise_if_cancelled()
            if message is None:
                continue
            try:
                await self._dispatch(text(message["channel"]), message["data"])
            except (ValueError, KeyError, TypeError):  # not ours: keep serving the rest
                log.warning("unreadable chat reply on %s", text(message["channel"]))

    async def _dispatch(self, channel: str, data: Any) -> None:
        case_id = int(channel.rpartition(":")[2])
        sockets = self._sockets.get(case_id)
        if not sockets:
            return
        reply = fastjson.loads(data)
        frame = frames.message("operator", reply["x"], rfc3339(reply["at"]), reply["p"])
        sent = False
        for ws in tuple(sockets):
            if not ws.closed:
                try:
                    await ws.send_json(frame, dumps=fastjson.dumps)
                    sent = True
                except ConnectionError:
                    pass  # gone: the socket's own handler cleans up
        if sent:
            self.sent(case_id, reply["p"])


HUB = web.AppKey("chat hub", Hub)
