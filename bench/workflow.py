"""Case workflow throughput against the intake floor measured in the same run.

`python bench/workflow.py [--cases N] [--seconds S]`. One Valkey (embedded, AOF on); the floor
(bench/floor.py) and the gateway (`serve` on the sample config with a triage line and room for
every case) as separate processes, the load generator as another. Prints requests per second of
the floor, of signed SMS intake, of `classify` (each SMS case once, routed to billing) and of
`PATCH` (type and theme changes re-pricing the classified cases), each with its ratio to the
floor (target for classify and PATCH: >= 0.5x).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
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


def api_request(method: str, path: str, body: dict[str, object]) -> bytes:
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
    """Request i classifies case i + 1 (each case once)."""

    def request(self, i: int, at: float) -> bytes:
        body = {**THEME, "type": "request", "service": "billing"}
        return api_request("POST", f"/api/cases/{i + 1}/classify", body)


@dataclass
class Patch:
    """Request i turns case (i mod cases) + 1 into a complaint, or back into a request."""

    cases: int

    def request(self, i: int, at: float) -> bytes:
        kind = "complaint" if (i // self.cases) % 2 == 0 else "request"
        return api_request("PATCH", f"/api/cases/{i % self.cases + 1}", {**THEME, "type": kind})


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


def line(name: str, result: Result, floor: float) -> None:
    ratio = result.rate / floor if floor else 0.0
    verdict = "" if name in ("floor", "sms") else ("  ok" if ratio >= TARGET else "  BELOW")
    print(
        f"{name:9} {result.rate:8.0f}/s  {ratio:5.2f}x floor  p50 {result.p50_ms:6.1f} ms"
        f"  p99 {result.p99_ms:6.1f} ms  errors {result.errors}{verdict}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/workflow.py", description=__doc__)
    parser.add_argument("--cases", type=int, default=3000, help="SMS cases to classify")
    parser.add_argument("--seconds", type=float, default=5.0, help="per measured run")
    args = parser.parse_args()
    log_dir = tempfile.mkdtemp(prefix="workflow-bench-")
    run_id = uuid.uuid4().hex[:8]
    with valkey() as (url, client):
        floor = start_floor(url, log_dir)
        try:
            now = time.time()
            source = Cycle([SignedSms(run_id).request(i, now) for i in range(1000)])
            floor_result = run_job(Job(floor.port, source, CONNECTIONS, args.seconds, MAX_REQUESTS))
        finally:
            floor.stop()
        client.flushall()
        gateway = start_gateway(url, bench_config(log_dir), log_dir)
        try:
            available(gateway)
            sms = SignedSms(run_id, pool=0)  # a new contact each: one case each
            sms_result = run_job(Job(gateway.port, sms, CONNECTIONS, None, args.cases, warmup=0.5))
            classify = Job(gateway.port, Classify(), CONNECTIONS, None, args.cases, warmup=0.5)
            classify_result = run_job(classify)
            patch = Job(gateway.port, Patch(args.cases), CONNECTIONS, args.seconds, MAX_REQUESTS)
            patch_result = run_job(patch)
        finally:
            gateway.stop()
    for name, result in (
        ("floor", floor_result),
        ("sms", sms_result),
        ("classify", classify_result),
        ("patch", patch_result),
    ):
        line(name, result, floor_result.rate)
    return 0


if __name__ == "__main__":  # the sources are pickled to the load generator: by module name
    from bench import workflow

    raise SystemExit(workflow.main())
