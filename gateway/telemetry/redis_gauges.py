"""The metrics that are one truth for every process: read from Redis at each scrape and given
to prometheus_client as a custom collector (queue depths, loads, presence, SLA breaches, the
reaction and resolution histograms that the Lua steps keep)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from channels.message import CHANNELS
from gateway.config import Config
from gateway.views import STATUSES, text
from routing.constants import SLA_BUCKETS
from routing.keys import Keys

PRESENCE_VALUE = {"available": 2, "away": 1, "offline": 0}
Family = CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily


async def _read(client: Any, keys: Keys, config: Config) -> list[Any]:
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
        return list(await pipe.execute())


class RedisGauges(Collector):
    """One scrape's reading of Redis (`await RedisGauges.read(...)`), then `collect()`."""

    def __init__(self, config: Config, rows: list[Any]) -> None:
        self.config = config
        self.rows = rows
        self.extra: list[Family] = []  # read elsewhere for this scrape (RQ's registries)

    @classmethod
    async def read(cls, client: Any, keys: Keys, config: Config) -> RedisGauges:
        return cls(config, await _read(client, keys, config))

    def collect(self) -> Iterator[Family]:
        rows = iter(self.rows)
        created = CounterMetricFamily("intake_cases_created", "Cases opened since the data began.")
        created.add_metric([], int(text(next(rows) or 0)))
        yield created
        cases = GaugeMetricFamily("intake_cases", "Cases by status.", labels=["status"])
        for status in STATUSES:
            cases.add_metric([status], next(rows))
        yield cases
        yield self._queued(rows)
        yield from self._operators(rows)
        yield _breaches(next(rows))
        times = {text(k): int(text(v)) for k, v in next(rows).items()}
        yield _histogram("intake_reaction_seconds", "From creation to the first accept.",
                         times, "reaction")  # fmt: skip
        yield _histogram("intake_resolution_seconds", "From creation to resolved.",
                         times, "resolution")  # fmt: skip
        yield from self.extra

    def _queued(self, rows: Iterator[Any]) -> Family:
        queued = GaugeMetricFamily(
            "intake_queued", "Queued cases by service and channel.", labels=["service", "channel"]
        )
        for svc in self.config.routing.services:
            for ch in CHANNELS:
                queued.add_metric([svc, ch], next(rows))
        return queued

    def _operators(self, rows: Iterator[Any]) -> Iterator[Family]:
        states = [(op, next(rows)) for op in self.config.routing.operators]
        loads = GaugeMetricFamily(
            "intake_operator_load", "Cases assigned or in progress per operator.",
            labels=["operator"],
        )  # fmt: skip
        presences = GaugeMetricFamily(
            "intake_operator_presence", "2 available, 1 away, 0 offline.", labels=["operator"]
        )
        for op, (presence, load) in states:
            loads.add_metric([op], int(text(load or 0)))
            value = PRESENCE_VALUE.get(text(presence) if presence else "offline", 0)
            presences.add_metric([op], value)
        yield loads
        yield presences


def _breaches(counts: dict[Any, Any]) -> Family:
    """`<service>|<priority>|<which>` -> count, as labelled samples in a stable order."""
    family = CounterMetricFamily(
        "intake_sla_breaches",
        "SLA breaches by service, priority and clock (reaction, resolution).",
        labels=["service", "priority", "which"],
    )
    for field, count in sorted((text(k), int(text(v))) for k, v in counts.items()):
        service, _, rest = field.partition("|")
        priority, _, which = rest.partition("|")
        family.add_metric([service, priority, which], count)
    return family


def _histogram(name: str, help_text: str, stored: dict[str, int], which: str) -> Family:
    """A histogram from per-bucket counts stored as `<which>|<le>` (made cumulative here)."""
    buckets, total = [], 0
    for le in SLA_BUCKETS:
        total += stored.get(f"{which}|{le}", 0)
        buckets.append((str(le), total))
    buckets.append(("+Inf", stored.get(f"{which}|count", 0)))
    family = HistogramMetricFamily(name, help_text)
    family.add_metric([], buckets, stored.get(f"{which}|sum_ms", 0) / 1000)
    return family
