"""Leases against a real server: one holder at a time, takeover cancels the work, release.

Also the app side: a singleton registered in several apps runs in exactly one of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp import web

from gateway.config import Config
from gateway.http.app import build_app
from gateway.runtime.background import add_singleton, singletons_ctx
from gateway.runtime.lease import Lease
from routing.keys import Keys

TTL = 0.3


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


async def test_one_holder_at_a_time_and_the_next_takes_over(
    client: aioredis.Redis, keys: Keys
) -> None:
    running: list[str] = []
    overlaps: list[list[str]] = []

    async def work(name: str) -> str:
        running.append(name)
        overlaps.append(list(running))
        await asyncio.sleep(TTL * 2)  # longer than the TTL: renewals must keep it
        running.remove(name)
        return name

    holds = [Lease(client, keys.lease("job"), TTL).hold(lambda n=n: work(n)) for n in "ab"]
    results = await asyncio.wait_for(asyncio.gather(*holds), 5)
    assert sorted(results) == ["a", "b"]
    assert all(len(seen) == 1 for seen in overlaps), overlaps
    assert await client.exists(keys.lease("job")) == 0


async def test_work_is_cancelled_when_someone_else_holds_the_lease(
    client: aioredis.Redis, keys: Keys
) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def work() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    holder = asyncio.create_task(Lease(client, keys.lease("job"), TTL).hold(work))
    await asyncio.wait_for(started.wait(), 2)
    await client.set(keys.lease("job"), "another-host:1:token")
    await asyncio.wait_for(cancelled.wait(), TTL * 2)
    assert not holder.done()  # competing again, politely: the intruder's lease is kept
    assert await client.get(keys.lease("job")) == b"another-host:1:token"
    holder.cancel()
    await asyncio.gather(holder, return_exceptions=True)


async def test_cancelling_the_holder_releases_the_lease(client: aioredis.Redis, keys: Keys) -> None:
    started = asyncio.Event()

    async def work() -> None:
        started.set()
        await asyncio.sleep(60)

    holder = asyncio.create_task(Lease(client, keys.lease("job"), 30).hold(work))
    await asyncio.wait_for(started.wait(), 2)
    assert await client.ttl(keys.lease("job")) > 0
    holder.cancel()
    await asyncio.gather(holder, return_exceptions=True)
    assert await client.exists(keys.lease("job")) == 0


async def test_a_singleton_runs_in_one_app_only(
    redis_url: str, keys: Keys, config: Config, client: aioredis.Redis
) -> None:
    running: list[int] = []

    def app_with_singleton(n: int) -> web.Application:
        async def sweeper(app: web.Application) -> None:
            running.append(n)
            await asyncio.sleep(60)

        app = build_app(config, redis_url, keys)
        if singletons_ctx not in app.cleanup_ctx:
            app.cleanup_ctx.append(singletons_ctx)
        add_singleton(app, "sweeper", sweeper)
        return app

    runners = [web.AppRunner(app_with_singleton(n)) for n in range(3)]
    for runner in runners:
        await runner.setup()
    await asyncio.sleep(0.5)
    assert len(running) == 1
    assert await client.exists(keys.lease("sweeper")) == 1
    for runner in runners:
        await runner.cleanup()
    assert await client.exists(keys.lease("sweeper")) == 0
