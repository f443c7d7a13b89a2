"""Case workflow throughput against the intake floor measured in the same run.

`python bench/workflow.py [--cases N] [--seconds S] [--runs R]`. One Valkey (embedded, AOF
on); the floor (bench/floor.py) and the gateway (`serve` on the sample config with a triage
line and room for every case) as separate processes, the load generator as another. Each run,
in turn: the floor, signed SMS intake of new cases (to the triage line), `classify` of each
(routed to billing) and `PATCH` (type changes re-pricing the classified cases). Prints the
median rate of each over the runs with its ratio to the floor's (target for classify and
PATCH: >= 0.5x); on a busy machine compare them with the SMS intake line too, which shares the
gateway's per-request costs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

if __package__ in (None, ""):  # run as a script: make `bench` and the product importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    CONFIG,
    HOST,
    Cycle,
    Job,
    Result,
    Server,
    SignedSms,
    free_port,
    median,
    run_job,
    start_floor,
    start_server,
    valkey,
)

CONNECTIONS = 16
MAX_REQUESTS = 100_000  # built before a timed run starts; a run ends at its seconds first
TARGET = 0.5  # x floor
ADMIN = ("Authorization", "Bearer change-me-admin")
THEME = {"theme": "delivery", "subtheme": "late"}


def api_request(method: str, path: str, body: Mapping[str, object]) -> bytes:
    raw = json.dumps(body).encode()
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {HOST}",
        "Content-Type: application/json",
        f"Content-Length: {len(raw)}",
        f"{ADMIN[0]}: {ADMIN[1]}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


@dataclass
class Classify:
    """Request i classifies case first + i (each case once)."""

    first: int

    def request(self, i: int, at: float) -> bytes:
        body = {**THEME, "type": "request", "service": "billing"}
        return api_request("POST", f"/api/cases/{self.first + i}/classify", body)


@dataclass
class Patch:
    """Request i turns case first + (i mod cases) into a complaint, or back into a request."""

    first: int
    cases: int

    def request(self, i: int, at: float) -> bytes:
        kind = "complaint" if (i // self.cases) % 2 == 0 else "request"
        path = f"/api/cases/{self.first + i % self.cases}"
        return api_request("PATCH", path, {**THEME, "type": kind})


def bench_config(directory: str) -> str:
    """The sample with support as a triage line and capacities that hold every case."""
    with open(CONFIG, encoding="utf-8") as file:
        text = file.read()
    lines = []
    for line in text.splitlines():
        if line.startswith("capacity = {"):
            line = "capacity = { total = 1000000 }"
        lines.append(line)
        if line == 'id = "support"':
            lines.append("triage = true")
    path = os.path.join(directory, "workflow.toml")
    with open(path, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    return path


def start_gateway(redis_url: str, config: str, log_dir: str) -> Server:
    port = free_port()
    argv = [
        sys.executable, "-m", "gateway", "serve", "--config", config,
        "--http", f"{HOST}:{port}", "--smtp", f"{HOST}:{free_port()}",
        "--redis-url", redis_url, "--processes", "1", "--workers", "0",
    ]  # fmt: skip
    return start_server("gateway-workflow", argv, port, log_dir)


def available(server: Server) -> None:
    for op in ("anna", "boris", "chen"):
        body = api_request("PUT", f"/api/operators/{op}/presence", {"presence": "available"})
        job = Job(server.port, Cycle([body]), 1, None, 1, warmup=0)
        assert run_job(job).errors == 0


def line(name: str, rates: list[float], floor: float, other: Result) -> None:
    rate = median(rates)
    ratio = rate / floor if floor else 0.0
    verdict = "" if name in ("floor", "sms") else ("  ok" if ratio >= TARGET else "  BELOW")
    each = " ".join(f"{r:.0f}" for r in rates)
    print(
        f"{name:9} {rate:6.0f}/s {ratio:5.2f}x floor (runs {each})  last p50"
        f" {other.p50_ms:5.1f} ms p99 {other.p99_ms:6.1f} ms errors {other.errors}{verdict}"
    )


def one_run(floor: Server, gateway: Server, args: argparse.Namespace, run: int) -> list[Result]:
    """Floor, SMS intake of `cases` new cases, classify each of them, PATCH them: in turn."""
    run_id, first = uuid.uuid4().hex[:8], run * args.cases + 1
    now = time.time()
    source = Cycle([SignedSms(run_id).request(i, now) for i in range(1000)])
    results = [run_job(Job(floor.port, source, CONNECTIONS, args.seconds, MAX_REQUESTS))]
    sms = SignedSms(run_id, pool=0, offset=run * args.cases)  # a new contact each: one case each
    for job_source in (sms, Classify(first)):
        results.append(
            run_job(Job(gateway.port, job_source, CONNECTIONS, None, args.cases, warmup=0.5))
        )
    patch = Patch(first, args.cases)
    results.append(run_job(Job(gateway.port, patch, CONNECTIONS, args.seconds, MAX_REQUESTS)))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/workflow.py", description=__doc__)
    parser.add_argument("--cases", type=int, default=1500, help="SMS cases per run to classify")
    parser.add_argument("--seconds", type=float, default=3.0, help="per timed floor/PATCH run")
    parser.add_argument("--runs", type=int, default=3, help="alternations (medians are shown)")
    args = parser.parse_args()
    log_dir = tempfile.mkdtemp(prefix="workflow-bench-")
    with valkey() as (url, _):
        floor = start_floor(url, log_dir)
        gateway = start_gateway(url, bench_config(log_dir), log_dir)
        try:
            available(gateway)
            runs = [one_run(floor, gateway, args, run) for run in range(args.runs)]
        finally:
            gateway.stop()
            floor.stop()
    floor_rate = median([r[0].rate for r in runs])
    for index, name in enumerate(("floor", "sms", "classify", "patch")):
        line(name, [r[index].rate for r in runs], floor_rate, runs[-1][index])
    return 0


if __name__ == "__main__":  # the sources are pickled to the load generator: by module name
    from bench import workflow

    raise SystemExit(workflow.main())
