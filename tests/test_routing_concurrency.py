"""Four OS processes route and act on cases against one Redis at once: no capacity is ever
exceeded, no case is given twice, and the counters agree with a recount afterwards."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import redis

from gateway.config import Config
from routing import sync
from routing.keys import Keys
from routing.scripts import Scripts
from tests.helpers import TYPES_AND_SLAS
from tests.routing_invariants import WorkerStats, assert_invariants, capacity_breaches, run_worker

PROCESSES = 4
ARRIVALS = 400  # per process

CONFIG = (
    """
[gateway]
admin_token = "change-me-admin"
default_region = "RU"
"""
    + TYPES_AND_SLAS
    + """{operators}
[[services]]
id = "support"
operators = ["o1", "o2", "o3", "o4"]
sticky_owner = true
[[services]]
id = "billing"
operators = ["o3", "o4", "o5", "o6"]
[routing]
default_service = "support"
offer_timeout = {{ phone = "1h" }}
"""
)

CAPACITIES = {
    "o1": "total = 3, phone = 1, sms = 2",
    "o2": "total = 5, phone = 1",
    "o3": "total = 4, phone = 2, webform = 1",
    "o4": "total = 2",
    "o5": "total = 6, email = 2, sms = 3",
    "o6": "total = 1",
}


def _config_text() -> str:
    operators = "".join(
        f'[[operators]]\nid = "{op}"\ntoken = "token-{op}"\ncapacity = {{ {cap} }}\n'
        for op, cap in CAPACITIES.items()
    )
    return CONFIG.format(operators=operators)


async def _prepare(url: str, keys: Keys, config: Config) -> None:
    client = redis.asyncio.Redis.from_url(url)
    scripts = Scripts(client, keys)
    await sync.apply(scripts, config.routing, config.version)
    for op in config.routing.operators:
        await scripts.presence(int(time.time() * 1000), op, "available")
    await client.aclose()


def _sample_loads(url: str, keys: Keys, stop: threading.Event, seen: list[str]) -> int:
    """Read every operator's loads in one MULTI, over and over, until `stop`; return samples."""
    client = redis.Redis.from_url(url)
    samples = 0
    try:
        while not stop.is_set():
            seen.extend(capacity_breaches(client, keys.prefix, sorted(CAPACITIES)))
            samples += 1
    finally:
        client.close()
    return samples


def test_four_processes_never_overload_or_double_assign(
    redis_url: str, keys: Keys, write_config: Callable[[str], Config], sync_redis: redis.Redis
) -> None:
    config = write_config(_config_text())
    asyncio.run(_prepare(redis_url, keys, config))
    breaches: list[str] = []
    stop = threading.Event()
    samples: list[int] = []
    sampler = threading.Thread(
        target=lambda: samples.append(_sample_loads(redis_url, keys, stop, breaches))
    )
    sampler.start()
    spawn = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(PROCESSES, mp_context=spawn) as pool:
            futures = [
                pool.submit(run_worker, redis_url, keys.prefix, config.path, seed, ARRIVALS)
                for seed in range(PROCESSES)
            ]
            stats: list[WorkerStats] = [f.result(timeout=90) for f in futures]
    finally:
        stop.set()
        sampler.join()

    assert max(s.started for s in stats) < min(s.finished for s in stats), "ran one by one"
    assert not breaches, breaches[:10]
    assert samples[0] > 50, "the sampler barely ran while the processes worked"
    assert sum(s.arrivals for s in stats) == PROCESSES * ARRIVALS
    assert sum(s.resolved for s in stats) >= 400, stats
    assert all(s.refused < s.actions for s in stats), stats
    # Transfers to an operator may name one excluded from the case; the rest holds in full.
    assert_invariants(sync_redis, keys.prefix, check_exclusions=False)
