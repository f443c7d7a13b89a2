"""Twilio Messaging intake rate against the floor measured in the same run.

`python bench/twilio.py [--seconds S]`: signed `POST /hooks/twilio/sms` form posts (a new
MessageSid each, senders from 10,000 numbers) against bench/floor.py storing the same bytes;
target >= 0.6x the floor's rate. Closed loop, a fresh Valkey, the load generator in its own
process. bench/phone.py measures Twilio Voice's TwiML latency.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid

if __package__ in (None, ""):  # run as a script: make `bench` and the product importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import Cycle, Job, Result, run_job, start_floor, start_gateway, valkey
from bench.phone_sources import TwilioSms

CONNECTIONS = 16
RATE_TARGET = 0.6  # x the floor's rate


def line(name: str, result: Result) -> str:
    errors = f", {result.errors} errors {result.statuses}" if result.errors else ""
    return (
        f"  {name:<22} {result.rate:8.0f}/s  p50 {result.p50_ms:6.2f} ms  "
        f"p99 {result.p99_ms:6.2f} ms{errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with valkey() as (url, client), tempfile.TemporaryDirectory() as logs:
        now = time.time()
        same_bytes = Cycle([TwilioSms("floor").request(i, now) for i in range(1000)])
        floor = start_floor(url, logs)
        try:
            base = run_job(Job(floor.port, same_bytes, CONNECTIONS, args.seconds, 10**6, 1.0))
        finally:
            floor.stop()
        client.flushall()
        gateway = start_gateway(url, logs)
        try:
            count = max(20_000, int(2 * base.rate * (args.seconds + 1)))
            source = TwilioSms(uuid.uuid4().hex[:8])
            sms = run_job(Job(gateway.port, source, CONNECTIONS, args.seconds, count, 1.0))
        finally:
            gateway.stop()
    print(f"Twilio SMS intake, closed loop, {CONNECTIONS} connections, {args.seconds:.0f} s each")
    print(line("floor", base))
    print(line("twilio sms webhook", sms))
    print(f"  rate / floor rate: {sms.rate / base.rate:.2f}x (target >= {RATE_TARGET}x)")


if __name__ == "__main__":
    main()
