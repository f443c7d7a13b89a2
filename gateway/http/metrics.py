"""`GET /metrics`: Prometheus text computed from Redis, so every process reports the same."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aiohttp import web

from channels.message import CHANNELS
from gateway.config import Config
from gateway.http.admin import admin_runtime
from gateway.http.jobs import metric_lines as rq_metric_lines
from gateway.views import STATUSES, text
from routing.constants import SLA_BUCKETS
from routing.keys import Keys

PRESENCE_VALUE = {"available": 2, "away": 1, "offline": 0}


def family(name: str, kind: str, help_text: str, samples: list[tuple[str, Any]]) -> list[str]:
    """One metric family: HELP, TYPE, then its samples (`labels` may be empty)."""
    head = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    return head + [f"{name}{{{labels}}} {value}" if labels else f"{name} {value}"
                   for labels, value in samples]  # fmt: skip


async def _read(client: Any, keys: Keys, config: Config) -> Iterator[Any]:
    async with client.pipeline(transaction=False) as pipe:
        pipe.get(keys.case_seq)
        for status in STATUSES:
            pipe.zcard(keys.status(status))
        for svc in config.routing.services:
            for ch in CHANNELS:
                pipe.zcard(keys.queue(svc, ch))
        for op in config.routing.operators:
            pipe.hmget(keys.operator(op), "pr", "lt")
        pipe.hgetall(keys.sla_counts)
        pipe.hgetall(keys.sla_hist)
        return iter(await pipe.execute())


async def metrics(request: web.Request) -> web.Response:
    runtime = admin_runtime(request)
    config = runtime.config
    rows = await _read(runtime.redis, runtime.keys, config)
    created = int(text(next(rows) or 0))
    by_status = [(f'status="{status}"', next(rows)) for status in STATUSES]
    queued = [
        (f'service="{svc}",channel="{ch}"', next(rows))
        for svc in config.routing.services
        for ch in CHANNELS
    ]
    states = [(op, next(rows)) for op in config.routing.operators]
    loads = [(f'operator="{op}"', int(text(load or 0))) for op, (_, load) in states]
    presences = [
        (f'operator="{op}"', PRESENCE_VALUE.get(text(pr) if pr else "offline", 0))
        for op, (pr, _) in states
    ]
    breaches = _breaches(next(rows))
    times = {text(k): int(text(v)) for k, v in next(rows).items()}
    lines = [
        *family("intake_cases_created_total", "counter", "Cases opened since the data began.",
                [("", created)]),
        *family("intake_cases", "gauge", "Cases by status.", by_status),
        *family("intake_queued", "gauge", "Queued cases by service and channel.", queued),
        *family("intake_operator_load", "gauge", "Cases assigned or in progress per operator.",
                loads),
        *family("intake_operator_presence", "gauge", "2 available, 1 away, 0 offline.",
                presences),
        *family("intake_sla_breaches_total", "counter",
                "SLA breaches by service, priority and clock (reaction, resolution).", breaches),
        *histogram("intake_reaction_seconds", "From creation to the first accept.",
                   times, "reaction"),
        *histogram("intake_resolution_seconds", "From creation to resolved.",
                   times, "resolution"),
    ]  # fmt: skip
    lines += await rq_metric_lines(request.app)
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain", charset="utf-8")


def histogram(name: str, help_text: str, stored: dict[str, int], which: str) -> list[str]:
    """A histogram from per-bucket counts stored as `<which>|<le>` (made cumulative here)."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    total = 0
    for le in SLA_BUCKETS:
        total += stored.get(f"{which}|{le}", 0)
        lines.append(f'{name}_bucket{{le="{le}"}} {total}')
    count = stored.get(f"{which}|count", 0)
    lines.append(f'{name}_bucket{{le="+Inf"}} {count}')
    lines.append(f"{name}_sum {stored.get(f'{which}|sum_ms', 0) / 1000}")
    return [*lines, f"{name}_count {count}"]


def _breaches(counts: dict[Any, Any]) -> list[tuple[str, Any]]:
    """`<service>|<priority>|<which>` -> count, as labelled samples in a stable order."""
    samples = []
    for field, count in sorted((text(k), int(text(v))) for k, v in counts.items()):
        service, _, rest = field.partition("|")
        priority, _, which = rest.partition("|")
        samples.append((f'service="{service}",priority="{priority}",which="{which}"', count))
    return samples


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
