"""SLA timer cost against its own embedded Valkey: `python bench/sla.py`.

Prints (1) the median cost per fired timer when the timers zset holds 10 and 100,000 open
cases (target: ratio <= 1.5), (2) the time to drain 10,000 timers due at once through the
sweeper against 10,000 plain routing steps (intake of one SMS each) in the same run (target:
< 2x), and (3) the Redis bytes one timer costs (its zset entry and the case hash fields).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.routing import Bench, timed, write_config
from gateway.config import Config
from gateway.process.embedded import EmbeddedValkey
from gateway.runtime import sla_timers
from gateway.runtime.state import Runtime
from routing.keys import Keys

DUE = 10  # timers fired per measured sweep
ROUNDS = 200
BURST = 10_000
RATIO_TARGET, BURST_TARGET = 1.5, 2.0
NOW = 1_800_000_000_000
HOUR = 3_600_000


async def seed(client: aioredis.Redis, keys: Keys, count: int, due_at: int) -> None:
    """`count` assigned cases with their four SLA levels, written as intake would store them."""
    for first in range(1, count + 1, 1000):
        async with client.pipeline(transaction=False) as pipe:
            for cid in range(first, min(first + 1000, count + 1)):
                pipe.hset(keys.case(cid), mapping={
                    "st": "assigned", "ch": "sms", "sv": "desk", "ty": "request", "pr": 2,
                    "ct": f"c{cid}", "ca": NOW - HOUR, "as": f"op{cid % 10:05d}",
                    "rw": due_at, "rd": due_at + HOUR, "sw": due_at + 2 * HOUR,
                    "sd": due_at + 3 * HOUR, "sc": "always",
                })  # fmt: skip
                pipe.zadd(keys.sla, {str(cid): due_at})
            await pipe.execute()


async def rearm(client: aioredis.Redis, keys: Keys, ids: range) -> None:
    """The fired warnings forgotten, so the next round fires the same work again."""
    async with client.pipeline(transaction=False) as pipe:
        for cid in ids:
            pipe.hdel(keys.case(cid), "sx")
            pipe.zadd(keys.sla, {str(cid): NOW})
            pipe.delete(keys.timeline(cid))
        await pipe.execute()


async def per_timer(client: aioredis.Redis, config: Config, total: int) -> tuple[float, float]:
    """Median seconds per fired timer with `total` timers held, and bytes per zset entry."""
    keys = Keys(f"{{bs{total}}}:")
    runtime = Runtime.create(config, client, keys)
    await Bench(client, config, keys.prefix).start()
    await seed(client, keys, total, NOW + 10 * HOUR)  # all pending, none due
    due = range(1, DUE + 1)
    samples = []
    for _ in range(ROUNDS):
        await rearm(client, keys, due)
        samples.append(await timed(lambda: sla_timers.sweep(runtime, NOW)) / DUE)
    size = int(await client.memory_usage(keys.sla) or 0) / total
    await cleanup(client, keys)
    return statistics.median(samples), size


async def burst(client: aioredis.Redis, config: Config) -> tuple[float, float]:
    """Seconds to drain BURST timers due at once, and to route BURST arriving cases."""
    keys = Keys("{bburst}:")
    runtime = Runtime.create(config, client, keys)
    bench = Bench(client, config, "{broute}:")
    await bench.start()
    await Bench(client, config, keys.prefix).start()
    await seed(client, keys, BURST, NOW)
    started = time.perf_counter()
    while await client.zcount(keys.sla, 0, NOW):
        await sla_timers.sweep(runtime, NOW)
    drained = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(BURST):
        await bench.arrive()
    routed = time.perf_counter() - started
    await cleanup(client, keys)
    await bench.cleanup()
    return drained, routed


async def hash_bytes(client: aioredis.Redis) -> int:
    """What the SLA fields add to one case hash."""
    keys = Keys("{bbytes}:")
    await seed(client, keys, 1, NOW)
    with_sla = int(await client.memory_usage(keys.case(1)) or 0)
    await client.hdel(keys.case(1), "rw", "rd", "sw", "sd", "sc")
    without = int(await client.memory_usage(keys.case(1)) or 0)
    await cleanup(client, keys)
    return with_sla - without


async def cleanup(client: aioredis.Redis, keys: Keys) -> None:
    async for key in client.scan_iter(match=f"{keys.prefix}*", count=5000):
        await client.delete(key)


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-sla-") as tmp:
        server = EmbeddedValkey(str(Path(tmp) / "valkey"))
        url = server.start()
        client = aioredis.Redis.from_url(url)
        config = write_config(Path(tmp), 10, capacity=100_000)
        try:
            few, _ = await per_timer(client, config, 10)
            many, entry = await per_timer(client, config, 100_000)
            drained, routed = await burst(client, config)
            fields = await hash_bytes(client)
        finally:
            await client.aclose()
            server.stop()
    ratio, speed = many / few, drained / routed
    print(f"per fired timer, 10 held       median {few * 1e6:8.1f} us")
    print(f"per fired timer, 100,000 held  median {many * 1e6:8.1f} us")
    print(
        f"ratio {ratio:.2f} (target <= {RATIO_TARGET}) {'ok' if ratio <= RATIO_TARGET else 'OVER'}"
    )
    print(f"\n{BURST:,} timers due at once drained in {drained:.2f} s; "
          f"{BURST:,} routing steps {routed:.2f} s")  # fmt: skip
    print(f"ratio {speed:.2f} (target < {BURST_TARGET}) {'ok' if speed < BURST_TARGET else 'OVER'}")
    print(f"\nbytes per timer: {entry:.0f} in the zset, {fields} in the case hash")
    return 0 if ratio <= RATIO_TARGET and speed < BURST_TARGET else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
