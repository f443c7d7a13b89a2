"""The `/metrics` text: this deployment's per-process metrics (summed over every process of
`serve` in multiprocess mode, else this process's own) followed by the Redis-derived ones."""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

from gateway.telemetry.multiproc import ENV
from gateway.telemetry.redis_gauges import RedisGauges

# decided once, as prometheus_client decides at import where this process's values go
MULTIPROCESS = bool(os.environ.get(ENV))


def per_process_registry() -> CollectorRegistry:
    if not MULTIPROCESS:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def render(per_process: CollectorRegistry, gauges: RedisGauges) -> bytes:
    """Blocking (multiprocess mode reads every process's files): run it in a thread."""
    shared = CollectorRegistry(auto_describe=False)
    shared.register(gauges)
    return generate_latest(per_process) + generate_latest(shared)
