"""History export against its own embedded Valkey: `python bench/history.py [--quick]`.

A case of 10,000 timeline entries exported as CSV by a `serve` process, against a case of 100
in the same run: time to the first byte of the body (target: < 100 ms, ratio about 1) and the
growth of the gateway's peak RSS during the export (target: flat, ratio about 1; 30,000 entries
show it stays so). For contrast, the 10,000 read whole through `GET /api/cases/{id}`.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import HOST, descendants, median, mib, rss_bytes, start_gateway, valkey
from channels import fastjson
from gateway.http.api.history import PAGE
from routing import timeline
from routing.keys import Keys

ADMIN = {"Authorization": "Bearer change-me-admin"}
NOW = 1_780_000_000_000
TEXT = "Здравствуйте! Заказ 4711 ещё не пришёл, проверьте, пожалуйста, доставку. " * 3
SMALL, LARGE, LARGER = 100, 10_000, 30_000  # the last: is it flat beyond, too?
FLOOR = 1024 * 1024  # RSS moves in pages and allocator arenas: less is noise
SAMPLE_EVERY = 0.002  # seconds between RSS samples during a download


def seed(client: redis.Redis, keys: Keys, case_id: int, entries: int) -> None:
    """An SMS case with `entries` messages and notes, stored as intake and notes store them."""
    client.hset(keys.contact("c1"), mapping={"n": "Мария", "ph": '["+79161234567"]'})
    client.hset(keys.case(case_id), mapping={
        "st": "in_progress", "ch": "sms", "sv": "support", "ty": "request", "pr": 2,
        "ct": "c1", "ca": NOW, "as": "anna", "ne": entries,
    })  # fmt: skip
    for first in range(1, entries + 1, 1000):
        rows = []
        for n in range(first, min(first + 1000, entries + 1)):
            if n % 3:
                entry = timeline.stored(kind="message", direction="in", from_="+79161234567",
                                        text=f"{n}: {TEXT}")  # fmt: skip
            else:
                entry = timeline.stored(kind="note", operator="anna", text=f"{n}: заметка")
            rows.append(fastjson.dumps({**entry, "i": str(n), "at": NOW + n * 1000}))
        client.rpush(keys.timeline(case_id), *rows)


@dataclass
class Download:
    first_byte: float  # seconds from sending the request to the first byte of the body
    total: float
    size: int
    rss_growth: int  # peak RSS of the gateway's processes during it, minus before


def download(port: int, path: str, pid: int) -> Download:
    pids = descendants(pid)  # listed once: walking /proc every sample would load the machine

    def rss() -> int:
        return sum(rss_bytes(p) for p in pids)

    before = rss()
    peak, done = [before], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(SAMPLE_EVERY)

    sampler = threading.Thread(target=sample)
    sampler.start()
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    start = time.perf_counter()
    conn.request("GET", path, headers=ADMIN)
    response = conn.getresponse()
    size = len(response.read(1))
    first = time.perf_counter() - start
    while chunk := response.read(65536):
        size += len(chunk)
    total = time.perf_counter() - start
    conn.close()
    done.set()
    sampler.join()
    return Download(first, total, size, peak[0] - before)


def measure(url: str, path: str, rounds: int, log_dir: str) -> tuple[Download, float]:
    """A fresh gateway: the first download's RSS growth, and the median time to first byte."""
    server = start_gateway(url, log_dir)
    try:
        download(server.port, "/api/cases/3/history?format=csv", server.proc.pid)  # warm up
        first = download(server.port, path, server.proc.pid)
        ttfb = [download(server.port, path, server.proc.pid).first_byte for _ in range(rounds)]
        return first, median([first.first_byte, *ttfb])
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    rounds = 2 if parser.parse_args().quick else 5
    keys = Keys()
    with valkey() as (url, client):
        seed(client, keys, 1, SMALL)
        seed(client, keys, 2, LARGE)
        seed(client, keys, 3, 10)
        seed(client, keys, 4, LARGER)
        log_dir = tempfile.mkdtemp(prefix="intake-bench-history-")
        small, small_ttfb = measure(url, "/api/cases/1/history?format=csv", rounds, log_dir)
        large, large_ttfb = measure(url, "/api/cases/2/history?format=csv", rounds, log_dir)
        larger, larger_ttfb = measure(url, "/api/cases/4/history?format=csv", rounds, log_dir)
        whole, _ = measure(url, "/api/cases/2", 1, log_dir)
    print(f"history export (CSV), median of {rounds + 1} requests for the first byte")
    rows = ((SMALL, small, small_ttfb), (LARGE, large, large_ttfb), (LARGER, larger, larger_ttfb))
    for name, run, ttfb in rows:
        print(
            f"  {name:>6} entries: first byte {ttfb * 1000:6.1f} ms, whole {run.total * 1000:7.1f}"
            f" ms, {mib(run.size)}, peak RSS growth {mib(run.rss_growth)}"
        )
    print(f"  first byte 10,000 / 100: {large_ttfb / small_ttfb:.2f}x (target < 100 ms)")
    growth = max(large.rss_growth, FLOOR) / max(small.rss_growth, FLOOR)
    print(
        f"  peak RSS growth 10,000 / 100: {growth:.2f}x (flat: about 1; below 1 MiB counts 1 MiB)"
    )
    beyond = max(larger.rss_growth, FLOOR) / max(large.rss_growth, FLOOR)
    print(f"  peak RSS growth 30,000 / 10,000: {beyond:.2f}x (pages of {PAGE} entries at most)")
    print(
        f"  for contrast, GET /api/cases/2 (whole timeline, not streamed): peak RSS growth"
        f" {mib(whole.rss_growth)}, {whole.total * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
