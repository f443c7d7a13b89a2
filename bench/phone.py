"""Phone latencies against baselines measured in the same run.

`python bench/phone.py [--seconds S]`: Twilio Voice `ringing` → TwiML p99 against the bare
aiohttp floor's p99 (target <= 3x: a caller hears ringing, not silence), and the generic API's
screen pop p99 for a caller with 50 open cases against one with a single open case (target
< 2x). Closed loop, a fresh Valkey, the load generator in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import urllib.request
import uuid

if __package__ in (None, ""):  # run as a script: make `bench` and the product importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    Cycle,
    Job,
    RequestSource,
    Result,
    Server,
    http_request,
    run_job,
    start_floor,
    start_gateway,
    valkey,
)
from bench.phone_sources import Ringing, TwilioRinging

CONNECTIONS = 16
TWIML_P99_TARGET = 3.0  # x the floor's p99
POP_P99_TARGET = 2.0  # x the screen pop of a caller with one open case
ADMIN = {"Authorization": "Bearer change-me-admin", "Content-Type": "application/json"}
BUSY, QUIET = "+79160000050", "+79160000001"


def load(server: Server, source: RequestSource, seconds: float, count: int) -> Result:
    return run_job(Job(server.port, source, CONNECTIONS, seconds, count, warmup=1.0))


def open_cases(server: Server, caller: str, n: int) -> None:
    for i in range(n):
        body = json.dumps({"contact": {"phone": caller}, "text": f"case {i}"}).encode()
        url = f"http://127.0.0.1:{server.port}/api/cases"
        with urllib.request.urlopen(urllib.request.Request(url, body, ADMIN)) as answer:
            assert answer.status == 201


def line(name: str, result: Result) -> str:
    errors = f", {result.errors} errors {result.statuses}" if result.errors else ""
    rate = f"{result.rate:8.0f}/s"
    return f"  {name:<28} {rate}  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms{errors}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    count = int(3000 * (args.seconds + 1))
    with valkey() as (url, client), tempfile.TemporaryDirectory() as logs:
        floor = start_floor(url, logs)
        try:
            base = load(
                floor,
                Cycle([http_request("/store", b"x" * 200, "text/plain")]),
                args.seconds,
                10**6,
            )
        finally:
            floor.stop()
        client.flushall()
        gateway = start_gateway(url, logs)
        try:
            twiml = load(gateway, TwilioRinging(uuid.uuid4().hex[:8]), args.seconds, count)
            open_cases(gateway, BUSY, 50)
            open_cases(gateway, QUIET, 1)
            quiet = load(gateway, Ringing("quiet", QUIET), args.seconds, count)
            busy = load(gateway, Ringing("busy", BUSY), args.seconds, count)
        finally:
            gateway.stop()
    print(f"Phone latencies, closed loop, {CONNECTIONS} connections, {args.seconds:.0f} s each")
    for name, result in (
        ("floor", base),
        ("twilio ringing -> TwiML", twiml),
        ("screen pop, 1 open case", quiet),
        ("screen pop, 50 open cases", busy),
    ):
        print(line(name, result))
    ratio = twiml.p99_ms / base.p99_ms
    print(f"  TwiML p99 / floor p99: {ratio:.2f}x (target <= {TWIML_P99_TARGET}x)")
    print(
        f"  pop p99 50 / 1 cases:  {busy.p99_ms / quiet.p99_ms:.2f}x (target < {POP_P99_TARGET}x)"
    )


if __name__ == "__main__":
    main()
