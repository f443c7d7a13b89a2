"""What the rate limiter costs: signed SMS intake with every request counted (exempt = [] and a
limit never reached) against the same gateway with loopback exempt (no count), alternated in
one run on one Valkey.

`python bench/limits.py [--seconds S] [--rounds N]`. Prints each run's rate and the ratio
counted / exempt (1.00 = free).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid

if __package__ in (None, ""):  # run as a script: make `bench` and the product importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    CONFIG,
    HOST,
    Job,
    Server,
    SignedSms,
    free_port,
    median,
    run_job,
    start_server,
    valkey,
)

CONNECTIONS = 16
REQUESTS = 60_000  # built before the run: more than a run of a few seconds answers here
EXEMPT = 'exempt = ["127.0.0.0/8", "::1/128"]'
COUNTED = {EXEMPT: "exempt = []", "webhooks_per_minute = 1200": "webhooks_per_minute = 100000000"}


def config_file(directory: str, counted: bool) -> str:
    with open(CONFIG, encoding="utf-8") as file:
        text = file.read()
    for old, new in COUNTED.items() if counted else ():
        assert old in text, old
        text = text.replace(old, new)
    path = os.path.join(directory, f"limits-{'counted' if counted else 'exempt'}.toml")
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    return path


def gateway(redis_url: str, config: str, log_dir: str) -> Server:
    port = free_port()
    argv = [
        sys.executable, "-m", "gateway", "serve", "--config", config,
        "--http", f"{HOST}:{port}", "--smtp", f"{HOST}:{free_port()}",
        "--redis-url", redis_url, "--processes", "1", "--workers", "0",
    ]  # fmt: skip
    return start_server("gateway", argv, port, log_dir)


def measure(redis_url: str, config: str, log_dir: str, seconds: float) -> float:
    server = gateway(redis_url, config, log_dir)
    try:
        source = SignedSms(uuid.uuid4().hex[:8])
        job = Job(server.port, source, CONNECTIONS, seconds, REQUESTS, warmup=1.0)
        result = run_job(job)
    finally:
        server.stop()
    assert result.statuses.get(429, 0) == 0, result.statuses
    return result.rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rates: dict[bool, list[float]] = {False: [], True: []}
    with valkey() as (url, client), tempfile.TemporaryDirectory(prefix="intake-bench-") as tmp:
        configs = {counted: config_file(tmp, counted) for counted in (False, True)}
        for _ in range(args.rounds):
            for counted in (False, True):
                client.flushall()
                rates[counted].append(measure(url, configs[counted], tmp, args.seconds))
                print(f"  {'counted' if counted else 'exempt '}: {rates[counted][-1]:8.0f} req/s")
    ratio = median(rates[True]) / median(rates[False])
    print(f"signed SMS at {CONNECTIONS} conns, counted / exempt (medians): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
