"""A Redis lease: work that must run once per deployment runs only where the lease is held.

Gateway processes on any number of hosts compete; a holder that dies loses it after `ttl`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.runtime.cancel import raise_if_cancelled

log = logging.getLogger(__name__)

T = TypeVar("T")

# KEYS[1] lease key; ARGV[1] our token, ARGV[2] ttl in ms. 1 when still ours and extended.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS[1] lease key; ARGV[1] our token. Deletes only our own lease, never a successor's.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class _LeaseLost(Exception):
    """Renewal failed: another process may hold the lease now, so our work was cancelled."""


class Lease:
    """`await Lease(redis, key, ttl).hold(work)` runs `work()` while holding `key`.

    Renews every ttl/3; when a renewal fails (taken over, or Redis unreachable so nobody can
    tell) the work is cancelled and the lease competed for again: a gap, never two holders.
    """

    def __init__(self, redis: aioredis.Redis, key: str, ttl: float) -> None:
        self.redis = redis
        self.key = key
        self.ttl_ms = int(ttl * 1000)
        self.interval = ttl / 3
        # who holds it is visible with GET key: host and pid help an operator on call
        self.token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"
        self._renew = redis.register_script(RENEW)
        self._release = redis.register_script(RELEASE)

    async def hold(self, work: Callable[[], Awaitable[T]]) -> T:
        """Wait for the lease, run `work()` under it, and release it when `work` ends."""
        while True:
            await self.acquire()
            try:
                raise_if_cancelled()
            except asyncio.CancelledError:
                await self.release()
                raise
            try:
                return await self._run(work)
            except _LeaseLost:
                log.warning("lost lease %s; stopped its work, competing again", self.key)

    async def acquire(self) -> None:
        """Return once the lease is ours; other holders are polled every ttl/3.

        Still holding it counts: after Redis came back with our key (its release failed while
        Redis was away), waiting for our own TTL would stop the work for nothing.
        """
        while True:
            try:
                taken = await self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms)
                if taken or await self._renew(keys=[self.key], args=[self.token, self.ttl_ms]):
                    log.info("holding lease %s", self.key)
                    return
            except (RedisError, OSError) as error:
                raise_if_cancelled()
                log.warning("cannot take lease %s: %s", self.key, error)
            await asyncio.sleep(self.interval)

    async def renew(self) -> bool:
        try:
            return bool(await self._renew(keys=[self.key], args=[self.token, self.ttl_ms]))
        except (RedisError, OSError) as error:
            raise_if_cancelled()
            log.warning("cannot renew lease %s: %s", self.key, error)
            return False

    async def release(self) -> None:
        """Let a successor start at once instead of after the TTL; failure is harmless."""
        with contextlib.suppress(RedisError, OSError):
            await self._release(keys=[self.key], args=[self.token])

    async def _run(self, work: Callable[[], Awaitable[T]]) -> T:
        task: asyncio.Future[T] = asyncio.ensure_future(work())
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.interval)
                if done:
                    return task.result()
                if not await self.renew():
                    raise _LeaseLost(self.key)
                raise_if_cancelled()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.release()
