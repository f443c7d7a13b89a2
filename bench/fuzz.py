"""A long fuzzing run against a real `serve`: `python bench/fuzz.py --minutes N`.

The generators of the suite's fuzz tests (bench/fuzzcases.py), unseeded, for N minutes against
`python -m gateway serve` on a private embedded Valkey. Prints the requests sent, the statuses
seen, and every answer that breaks the SPEC (a 5xx, a 4xx without the JSON error body, a refused
request that changed the number of keys) with the request that got it; exits 1 if there was one.
Afterwards every stored case is read back. Single client, so the key count is a fair witness.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter

if __package__ in (None, ""):  # run as a script: make `bench` and the product importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import redis
from hypothesis import HealthCheck, given, settings

from bench import fuzzcases
from bench.common import HOST, start_gateway, valkey
from routing.keys import Keys

BATCH = 200  # examples per hypothesis run; a fresh random seed each


class Run:
    def __init__(self, port: int, client: redis.Redis, until: float):
        self.port, self.client, self.until = port, client, until
        self.statuses: Counter[int] = Counter()
        self.problems: list[str] = []

    def one(self, request: fuzzcases.Request) -> None:
        if time.monotonic() > self.until:
            return
        before = self.client.dbsize()
        try:
            answer = fuzzcases.send(HOST, self.port, request)
        except OSError as error:  # http.client's errors are OSErrors or HTTPException
            self.problems.append(f"no answer ({error!r}) for {request.wire()[:300]!r}")
            return
        self.statuses[answer.status] += 1
        problem = fuzzcases.check(answer)
        if problem is None and answer.status >= 400 and self.client.dbsize() != before:
            problem = f"{answer.status} but the key count changed"
        if problem is not None:
            self.problems.append(f"{problem}\n    for {request.wire()[:300]!r}")

    def batch(self) -> None:
        @settings(max_examples=BATCH, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(fuzzcases.ALL)
        def run(request: fuzzcases.Request) -> None:
            self.one(request)

        run()


def unreadable_cases(port: int, client: redis.Redis) -> list[str]:
    """Cases whose own read is not a 200."""
    last = int(client.get(Keys().case_seq) or 0)  # serve's default prefix
    bad = []
    for case_id in range(1, last + 1):
        request = urllib.request.Request(
            f"http://{HOST}:{port}/api/cases/{case_id}",
            headers={"Authorization": fuzzcases.ADMIN},
        )
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except urllib.error.HTTPError as error:
            bad.append(f"case {case_id}: {error.code}")
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=1.0)
    args = parser.parse_args()
    with valkey() as (url, client), tempfile.TemporaryDirectory() as logs:
        gateway = start_gateway(url, logs)
        try:
            run = Run(gateway.port, client, time.monotonic() + args.minutes * 60)
            while time.monotonic() < run.until:
                run.batch()
            unreadable = unreadable_cases(gateway.port, client)
        finally:
            gateway.stop()
    print(f"requests sent: {sum(run.statuses.values())}")
    print("statuses seen: " + ", ".join(f"{s}: {n}" for s, n in sorted(run.statuses.items())))
    print(f"problems: {len(run.problems)}, unreadable cases: {len(unreadable)}")
    for line in run.problems[:50] + unreadable[:50]:
        print("  " + line)
    return 1 if run.problems or unreadable else 0


if __name__ == "__main__":
    raise SystemExit(main())
