"""Soak: many mixed messages at a steady rate through `serve --processes 2`; memory must level off.

`python bench/soak.py [--messages N] [--rate R]`. Every 10 s: the gateway's RSS (summed over
the serve process tree, from /proc) and Valkey's used_memory. At the end: growth after warm-up
per stored message, for both, in a first and a second half; stored data explains Redis growth,
nothing should explain the gateway's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and the product importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import redis

from bench.common import (
    Cycle,
    Job,
    Mixed,
    Result,
    SignedSms,
    loop_name,
    mib,
    multipart_form,
    run_job,
    server_version,
    start_gateway,
    tree_rss,
    urlencoded_form,
    used_memory,
    valkey,
)

WARMUP_SHARE = 0.2  # of the messages: caches, pools and dictionaries grow to size first
RSS_LEVEL = 0.05  # RSS growth in the second half, at most this share of the stored data's growth
REDIS_LEVEL = 1.25  # Redis bytes per message in the second half, at most this x the first half's


@dataclass(frozen=True)
class Sample:
    t: float
    done: int
    errors: int
    rss: int
    processes: int
    used: int


class Monitor:
    """Takes a sample on each progress line of the generator; prints one every `interval` s."""

    def __init__(self, root: int, client: redis.Redis, interval: float) -> None:
        self.root = root
        self.client = client
        self.interval = interval
        self.samples: list[Sample] = []
        self.printed_at = 0.0

    def sample(self, t: float, done: int, errors: int) -> Sample:
        rss, processes = tree_rss(self.root)
        sample = Sample(t, done, errors, rss, processes, used_memory(self.client))
        self.samples.append(sample)
        return sample

    def on_progress(self, progress: dict[str, Any]) -> None:
        sample = self.sample(progress["t"], progress["done"], progress["errors"])
        if sample.t - self.printed_at >= self.interval - 0.5:
            self.print_row(sample)

    def print_row(self, sample: Sample) -> None:
        earlier = [s for s in self.samples if s.t <= self.printed_at] or [self.samples[0]]
        span = max(sample.t - earlier[-1].t, 1e-9)
        rate = (sample.done - earlier[-1].done) / span if sample is not earlier[-1] else 0.0
        print(
            f"  {sample.t:6.0f} s {sample.done:>8} done {rate:6.0f}/s {sample.errors:>5} errors   "
            f"gateway RSS {mib(sample.rss):>10} ({sample.processes} processes)   "
            f"valkey used_memory {mib(sample.used):>10}",
            flush=True,
        )
        self.printed_at = sample.t


def slope(samples: Sequence[Sample], attr: str) -> float:
    """Least-squares growth of `attr` per message done."""
    xs = [float(s.done) for s in samples]
    ys = [float(getattr(s, attr)) for s in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def halves(samples: Sequence[Sample], total: int) -> tuple[list[Sample], list[Sample]]:
    after = [s for s in samples if s.done >= WARMUP_SHARE * total]
    middle = len(after) // 2
    return after[: middle + 1], after[middle:]


def levelled(samples: Sequence[Sample], total: int) -> None:
    first, second = halves(samples, total)
    if len(first) < 2 or len(second) < 2:
        print("\nToo few samples after warm-up to judge; run more messages.")
        return
    redis_1, redis_2 = slope(first, "used"), slope(second, "used")
    rss_1, rss_2 = slope(first, "rss"), slope(second, "rss")
    warm, end = first[0], second[-1]
    stored = end.used - warm.used
    print(
        f"\nAfter warm-up (from message {warm.done}, {warm.t:.0f} s; "
        f"{end.done - warm.done} messages, {end.t - warm.t:.0f} s):"
    )
    print(
        f"  valkey used_memory {mib(warm.used)} -> {mib(end.used)}: "
        f"{redis_1:,.0f} B/message in the first half, {redis_2:,.0f} in the second"
    )
    print(
        f"  gateway RSS {mib(warm.rss)} -> {mib(end.rss)}: {end.rss - warm.rss:+,} B = "
        f"{(end.rss - warm.rss) / max(stored, 1):+.3f} x the stored data's growth; "
        f"{rss_1:+,.1f} B/message in the first half, {rss_2:+,.1f} in the second"
    )
    rss_ok = rss_2 <= RSS_LEVEL * max(redis_2, 1.0)
    redis_ok = redis_2 <= REDIS_LEVEL * max(redis_1, 1.0)
    print(
        f"  gateway RSS levelled off (second-half growth <= {RSS_LEVEL:.0%} of the stored data's): "
        f"{'yes' if rss_ok else 'NO'} ({rss_2 / max(redis_2, 1.0):+.3f})"
    )
    print(
        f"  valkey grows only with the stored data (second half <= {REDIS_LEVEL} x first half "
        f"per message): {'yes' if redis_ok else 'NO'} ({redis_2 / max(redis_1, 1.0):.2f}x)"
    )


def source(run_id: str, pool: int) -> Mixed:
    """80 % signed SMS from `pool` numbers, 10 % urlencoded forms, 10 % multipart with 2 KB."""
    attachment = os.urandom(2048)
    return Mixed(
        [
            (8, SignedSms(run_id, pool=pool)),
            (1, Cycle([urlencoded_form(n) for n in range(1000)])),
            (1, Cycle([multipart_form(n, attachment) for n in range(100)])),
        ]
    )


def summary(result: Result, elapsed: float) -> None:
    print(
        f"\nLoad: {result.requests} answered in {result.seconds:.1f} s ({result.rate:.0f}/s), "
        f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, max {result.max_ms:.0f} ms, "
        f"errors {result.errors}, statuses {result.statuses}; wall {elapsed:.0f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1500.0, help="messages per second")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--pool", type=int, default=20_000, help="distinct SMS senders")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between rows")
    args = parser.parse_args()
    started = time.monotonic()
    with valkey() as (url, client), tempfile.TemporaryDirectory(prefix="intake-soak-") as logs:
        print(
            f"soak: {args.messages} messages (80 % SMS from {args.pool} numbers, 20 % forms) at "
            f"{args.rate:.0f}/s through serve --processes {args.processes} --workers "
            f"{args.workers}; {os.cpu_count()} cores, {loop_name()}, "
            f"Valkey {server_version(client)}"
        )
        gateway = start_gateway(url, logs, processes=args.processes, workers=args.workers)
        try:
            monitor = Monitor(gateway.proc.pid, client, args.interval)
            monitor.print_row(monitor.sample(0.0, 0, 0))
            job = Job(
                port=gateway.port,
                source=source(uuid.uuid4().hex[:8], args.pool),
                connections=64,
                duration=None,
                count=args.messages,
                warmup=0.0,
                rate=args.rate,
                progress_every=1.0,
            )
            result = run_job(job, monitor.on_progress)
            last = monitor.samples[-1]
            end = max(last.t + 0.1, result.seconds)
            monitor.print_row(monitor.sample(end, result.answered, result.errors))
        finally:
            gateway.stop()
        summary(result, time.monotonic() - started)
        levelled(monitor.samples, args.messages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
