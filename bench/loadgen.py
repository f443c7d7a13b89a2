"""The load generator process: `python -m bench.loadgen` reads a pickled `Job` on stdin.

Raw HTTP/1.1 keep-alive over asyncio protocols (uvloop when installed); every request is built
before the clock starts, so the run itself only writes bytes and parses status lines.
Prints JSON lines: `{"progress": ...}` when asked, then `{"result": ...}`.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import cast

from bench.common import HOST, Job, Result
from gateway.process.acceptor import uvloop_factory


class Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:  # no chunked answers expected from these servers
            self.waiter.set_exception(ConnectionError("answer without Content-Length"))
            return
        stop = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : stop if stop >= 0 else len(head)])
        total = end + 4 + length
        if len(self.buffer) >= total:
            del self.buffer[:total]
            self.waiter.set_result(int(head[9:12]))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    async def send(self, data: bytes) -> int:
        """Write one request; the answer's status code."""
        if self.transport is None:
            raise ConnectionError("not connected")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


async def connect(port: int) -> Connection:
    _, protocol = await asyncio.get_running_loop().create_connection(Connection, HOST, port)
    return protocol


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    done: int = 0  # every answer, warm-up included (progress lines)
    first: float = 0.0
    last: float = 0.0


class Run:
    def __init__(self, job: Job, requests: list[bytes], start: float) -> None:
        self.job = job
        self.requests = requests
        self.start = start
        self.measure_from = start + job.warmup
        self.until = float("inf") if job.duration is None else self.measure_from + job.duration
        self.grace = max(5.0, job.duration or 0.0)
        self.next = 0
        self.exhausted = False
        self.tally = Tally()

    def take(self) -> int | None:
        """The next request's index, or None when the run is over for this connection."""
        i = self.next
        if i >= len(self.requests):
            # a closed loop that ran out before its time: the requests were too few
            self.exhausted = self.job.rate is None and self.job.duration is not None
            return None
        now = time.perf_counter()
        if self.job.rate is None:
            if now >= self.until:
                return None
        # open loop: every request due in the window is sent, however late (within a grace)
        elif self.due(i) >= self.until or now >= self.until + self.grace:
            return None
        self.next += 1
        return i

    def due(self, i: int) -> float:
        return self.start if self.job.rate is None else self.start + i / self.job.rate

    async def connection(self) -> None:
        conn = await connect(self.job.port)
        while (i := self.take()) is not None:
            due = self.due(i)
            if self.job.rate is not None and due > time.perf_counter():
                await asyncio.sleep(due - time.perf_counter())
            sent = time.perf_counter()
            try:
                status = await conn.send(self.requests[i])
            except (ConnectionError, OSError):
                status = 0
                conn = await connect(self.job.port)
            self.record(sent if self.job.rate is None else due, status)

    def record(self, since: float, status: int) -> None:
        now = time.perf_counter()
        tally = self.tally
        tally.done += 1
        if status not in self.job.ok_statuses:
            tally.errors += 1
        if since < self.measure_from:
            return
        if not tally.latencies:
            tally.first = since
        tally.last = now
        tally.latencies.append(now - since)
        tally.statuses[status] = tally.statuses.get(status, 0) + 1

    def result(self) -> Result:
        tally = self.tally
        ordered = sorted(tally.latencies)
        if self.job.duration is None or self.exhausted:
            seconds = max(tally.last - tally.first, 1e-9)
        elif self.job.rate is None:
            seconds = self.job.duration
        else:  # an open loop's window lasts until its last answer: the rate achieved
            seconds = max(self.job.duration, tally.last - self.measure_from)
        return Result(
            requests=len(ordered),
            seconds=seconds,
            errors=sum(
                n for status, n in tally.statuses.items() if status not in self.job.ok_statuses
            ),
            p50_ms=percentile(ordered, 0.50) * 1000,
            p99_ms=percentile(ordered, 0.99) * 1000,
            max_ms=(ordered[-1] if ordered else 0.0) * 1000,
            statuses=tally.statuses,
            exhausted=self.exhausted,
            answered=tally.done,
            unsent=self.unsent(),
        )

    def unsent(self) -> int:
        """Open loop: requests due in the window but never sent (the grace ran out)."""
        if self.job.rate is None or self.job.duration is None:
            return 0
        due = min(len(self.requests), int((self.until - self.start) * self.job.rate))
        return max(0, due - self.next)


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build(job: Job) -> list[bytes]:
    """Every request of the run, signed for its planned send time (or now, closed loop)."""
    now = time.time() + 0.5
    rate = job.rate
    return [job.source.request(i, now + (i / rate if rate else 0.0)) for i in range(job.count)]


async def report_progress(run: Run, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        elapsed = time.perf_counter() - run.start
        line = {"t": round(elapsed, 2), "done": run.tally.done, "errors": run.tally.errors}
        print(json.dumps({"progress": line}), flush=True)


async def main_async(job: Job) -> Result:
    requests = build(job)
    run = Run(job, requests, time.perf_counter())
    reporter = None
    if job.progress_every > 0:
        reporter = asyncio.create_task(report_progress(run, job.progress_every))
    await asyncio.gather(*(run.connection() for _ in range(job.connections)))
    if reporter is not None:
        reporter.cancel()
    return run.result()


def main() -> int:
    job: Job = pickle.loads(sys.stdin.buffer.read())
    with asyncio.Runner(loop_factory=uvloop_factory()) as runner:
        result = runner.run(main_async(job))
    print(json.dumps({"result": asdict(result)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
