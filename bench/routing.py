"""Routing cost against its own embedded Valkey: `python bench/routing.py`.

Prints the median cost of routing one arriving case with 10 and with 10,000 operators in the
service, and of an operator freeing up (resolve + drain) with 1 and with 100 cases queued, and
the two ratios against the small case measured in the same run (target: each <= 1.5).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from channels.blobs import FsBlobStore
from channels.message import InboundMessage
from gateway.config import Config, load_config
from gateway.intake import Intake
from gateway.process.embedded import EmbeddedValkey
from routing import sync
from routing.keys import Keys
from routing.scripts import Scripts

REPS = 2000
TARGET = 1.5

HEAD = """
[gateway]
admin_token = "bench-admin"
default_region = "RU"
[types]
request = 2
default = "request"
[sla.2]
reaction = "1h"
resolution = "1d"
[routing]
default_service = "desk"
"""


def write_config(directory: Path, operators: int, capacity: int) -> Config:
    ids = [f"op{n:05d}" for n in range(operators)]
    lines = [HEAD]
    for op in ids:
        lines.append(f'[[operators]]\nid = "{op}"\ntoken = "t-{op}"\n')
        lines.append(f"capacity = {{ total = {capacity} }}\n")
    members = ", ".join(f'"{op}"' for op in ids)
    lines.append(f'[[services]]\nid = "desk"\noperators = [{members}]\n')
    path = directory / f"bench-{operators}-{capacity}.toml"
    path.write_text("".join(lines))
    return load_config(str(path), env={})


class Bench:
    def __init__(self, client: aioredis.Redis, config: Config, prefix: str) -> None:
        self.client, self.config = client, config
        self.keys = Keys(prefix)
        self.scripts = Scripts(client, self.keys)
        self.intake = Intake(self.scripts, FsBlobStore(config.blobs_dir))  # no attachments here
        self.arrivals = 0

    async def start(self) -> None:
        await sync.apply(self.scripts, self.config.routing, self.config.version)
        for op in self.config.routing.operators:
            await self.scripts.presence(now(), op, "available")

    async def arrive(self) -> int:
        self.arrivals += 1
        msg = InboundMessage(channel="sms", dedupe_scope="bench", delivery_id=None,
                             sender_phone=f"+7916{self.arrivals:07d}", text="hi")  # fmt: skip
        return (await self.intake.submit(self.config, msg)).case_id

    async def cleanup(self) -> None:
        async for key in self.client.scan_iter(match=f"{self.keys.prefix}*", count=5000):
            await self.client.delete(key)


def now() -> int:
    return int(time.time() * 1000)


async def timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def assignment_cost(client: aioredis.Redis, directory: Path, operators: int) -> float:
    """Median time to store and route one case; nobody fills up (capacity is ample)."""
    config = write_config(directory, operators, capacity=10_000)
    bench = Bench(client, config, f"{{ba{operators}}}:")
    await bench.start()
    for _ in range(200):  # warm up: library loaded, connections open
        await bench.arrive()
    samples = [await timed(bench.arrive) for _ in range(REPS)]
    await bench.cleanup()
    return statistics.median(samples)


async def drain_cost(client: aioredis.Redis, directory: Path, queued: int) -> float:
    """Median time of a resolve that frees one operator and hands them the best queued case."""
    bench = Bench(client, write_config(directory, 10, capacity=1), f"{{bd{queued}}}:")
    await bench.start()
    held = [await bench.arrive() for _ in range(10)]  # everyone full
    for _ in range(queued):
        await bench.arrive()
    samples = []
    for rep in range(REPS):
        case_id = held[rep % len(held)]
        raw = await client.hget(bench.keys.case(case_id), "as")
        owner = raw.decode() if isinstance(raw, bytes) else str(raw)
        samples.append(await timed(partial(bench.scripts.resolve, now(), case_id, owner)))
        (taken,) = await client.smembers(bench.keys.operator_cases(owner))
        held[rep % len(held)] = int(taken)
        await bench.arrive()  # the queue is back to `queued` cases
    assert await client.zcard(bench.keys.queue("desk", "sms")) == queued
    await bench.cleanup()
    return statistics.median(samples)


def report(name: str, small: tuple[str, float], large: tuple[str, float]) -> float:
    ratio = large[1] / small[1]
    for label, seconds in (small, large):
        print(f"{name:<12} {label:<22} median {seconds * 1e6:8.1f} us")
    verdict = "ok" if ratio <= TARGET else "OVER TARGET"
    print(f"{name:<12} ratio {ratio:.2f} (target <= {TARGET}) {verdict}\n")
    return ratio


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-routing-") as tmp:
        server = EmbeddedValkey(str(Path(tmp) / "valkey"))
        url = server.start()
        client = aioredis.Redis.from_url(url)
        try:
            print(f"{REPS} repetitions each, medians (embedded Valkey at {url})\n")
            few = await assignment_cost(client, Path(tmp), 10)
            many = await assignment_cost(client, Path(tmp), 10_000)
            one = await drain_cost(client, Path(tmp), 1)
            hundred = await drain_cost(client, Path(tmp), 100)
        finally:
            await client.aclose()
            server.stop()
    ratios = [
        report("assignment", ("10 operators", few), ("10,000 operators", many)),
        report("drain", ("1 queued case", one), ("100 queued cases", hundred)),
    ]
    return 0 if all(r <= TARGET for r in ratios) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
