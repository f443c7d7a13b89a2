"""SMTP intake: mails/s and p99 through the real SMTP server vs a bare aiosmtpd floor, Redis
bytes per stored mail, and the threading lookup at 10 vs 100,000 cases, all in one run.

`python bench/smtp.py [--quick]`. The floor is aiosmtpd storing the raw bytes with one SET;
both servers get the same client (smtplib, persistent connections, separate processes) on a
fresh Valkey (the embedded one `serve` runs, AOF on).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import smtplib
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and the product importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


import redis.asyncio as aioredis

from bench.common import CONFIG, HOST, ROOT, child_env, free_port, kib, used_memory, valkey
from routing.keys import Keys

CLIENT_PROCESSES = 2
CONNECTIONS = 4  # per client process
THROUGHPUT_TARGET = 0.5  # x floor, 5 KB text mail
BYTES_TARGET = 8 * 1024  # Redis bytes per stored mail, text or 1 MB attachment
LOOKUP_TARGET = 1.2  # reply cost at 100,000 cases / at 10 cases
TEXT = ("Hello, the delivery of my order is late again and nobody answers the phone. " * 70)[:5000]
ATTACHMENT = os.urandom(1024 * 1024)


SLOT = b"0123456789abcdef0123456789abcdef"  # replaced per mail: a fresh Message-ID and sender


def template(attach: bool) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer <{SLOT.decode()}@example.org>"
    msg["To"] = "support@example.com"
    msg["Subject"] = "Order"
    msg["Message-ID"] = f"<{SLOT.decode()}@client.example.org>"
    if attach:
        msg.set_content("The scan is attached.")
        msg.add_attachment(ATTACHMENT, maintype="application", subtype="pdf", filename="s.pdf")
    else:
        msg.set_content(TEXT)
    return msg.as_bytes(policy=SMTP_POLICY)


TEMPLATES = {"text": template(False), "attachment": template(True)}


def a_mail(kind: str) -> bytes:
    """The kind's mail with its own Message-ID and sender (the client's cost stays small)."""
    return TEMPLATES[kind].replace(SLOT, uuid.uuid4().hex.encode())


# -- the client: connections in threads, in separate processes ---------------------------------


def client_process(port: int, kind: str, seconds: float, seed: int) -> list[float]:
    """Latencies (s) of the mails one process sent on CONNECTIONS connections in `seconds`."""
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    lock = threading.Lock()

    def connection(offset: int) -> None:
        mine: list[float] = []
        with smtplib.SMTP(HOST, port, timeout=60) as client:
            n = offset
            while time.monotonic() < deadline:
                raw = a_mail(kind)
                start = time.perf_counter()
                client.sendmail(f"customer{n}@example.org", ["support@example.com"], raw)
                mine.append(time.perf_counter() - start)
                n += CONNECTIONS * CLIENT_PROCESSES
        with lock:
            latencies.extend(mine)

    threads = [
        threading.Thread(target=connection, args=(seed * CONNECTIONS + i,))
        for i in range(CONNECTIONS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def load(port: int, kind: str, seconds: float) -> tuple[float, float]:
    """(mails/s, p99 latency ms) of the client processes together."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(CLIENT_PROCESSES, mp_context=context) as pool:
        futures = [
            pool.submit(client_process, port, kind, seconds, seed)
            for seed in range(CLIENT_PROCESSES)
        ]
        latencies = sorted(x for f in futures for x in f.result())
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    return len(latencies) / seconds, p99 * 1000


# -- the servers ---------------------------------------------------------------------------------


def floor_main(port: int, redis_url: str) -> None:
    """The floor: aiosmtpd, each mail stored whole with one SET."""
    from aiosmtpd.smtp import SMTP, Envelope, Session

    class Store:
        def __init__(self) -> None:
            self.client = aioredis.Redis.from_url(redis_url)

        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            await self.client.set(f"floor:{uuid.uuid4().hex}", envelope.original_content or b"")
            return "250 OK"

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        handler = Store()
        await loop.create_server(
            lambda: SMTP(handler, hostname="floor", data_size_limit=20 * 1024 * 1024), HOST, port
        )
        await asyncio.Event().wait()

    asyncio.run(serve())


def wait_listening(port: int, proc: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("server did not listen")


def start(argv: Sequence[str], port: int, log_dir: str, name: str) -> Any:
    import subprocess

    log = open(os.path.join(log_dir, f"{name}.log"), "ab")  # noqa: SIM115 (the child keeps it)
    proc = subprocess.Popen(argv, cwd=ROOT, env=child_env(), stdout=log, stderr=subprocess.STDOUT)
    wait_listening(port, proc)
    return proc


def start_gateway(redis_url: str, work: str) -> tuple[Any, int]:
    config = os.path.join(work, "config.toml")
    with open(CONFIG, encoding="utf-8") as sample, open(config, "w", encoding="utf-8") as out:
        blobs = os.path.join(work, "blobs")
        out.write(sample.read().replace('blobs_dir = "var/blobs"', f'blobs_dir = "{blobs}"'))
    port = free_port()
    argv = [
        sys.executable, "-m", "gateway", "serve", "--config", config,
        "--http", f"{HOST}:{free_port()}", "--smtp", f"{HOST}:{port}",
        "--redis-url", redis_url, "--processes", "1", "--workers", "0",
    ]  # fmt: skip
    return start(argv, port, work, "gateway"), port


def start_floor(redis_url: str, work: str) -> tuple[Any, int]:
    port = free_port()
    argv = [sys.executable, os.path.abspath(__file__), "--floor", str(port), redis_url]
    return start(argv, port, work, "floor"), port


def stop(proc: Any) -> None:
    proc.terminate()
    proc.wait(30)


# -- the measurements ----------------------------------------------------------------------------


def throughput(seconds: float, work: str, kinds: Sequence[str]) -> None:
    print(f"throughput: {CLIENT_PROCESSES}x{CONNECTIONS} persistent smtplib connections, "
          f"{seconds:.0f}s each")  # fmt: skip
    rates: dict[tuple[str, str], float] = {}
    for kind in kinds:
        for name, starter in (("floor", start_floor), ("gateway", start_gateway)):
            with valkey() as (url, _client):
                proc, port = starter(url, work)
                try:
                    load(port, kind, min(2.0, seconds / 2))  # warm-up
                    rate, p99 = load(port, kind, seconds)
                finally:
                    stop(proc)
            rates[(kind, name)] = rate
            print(f"  {kind:10} {name:8} {rate:8.1f} mails/s  p99 {p99:7.1f} ms")
        ratio = rates[(kind, "gateway")] / rates[(kind, "floor")]
        goal = f" (goal >= {THROUGHPUT_TARGET})" if kind == "text" else ""
        print(f"  {kind:10} gateway/floor = {ratio:.2f}x{goal}")


def memory(count: int, work: str) -> None:
    print("Redis bytes per stored mail: MEMORY USAGE of every key / mails (used_memory delta):")
    for kind, n in (("text", count), ("attachment", max(10, count // 10))):
        with valkey() as (url, client):
            proc, port = start_gateway(url, work)
            try:
                before = used_memory(client)
                with smtplib.SMTP(HOST, port, timeout=60) as smtp:
                    for i in range(n):
                        smtp.sendmail(f"m{i}@example.org", ["support@example.com"], a_mail(kind))
                delta = (used_memory(client) - before) / n
                keys = sum(int(client.memory_usage(k) or 0) for k in client.scan_iter(count=1000))
            finally:
                stop(proc)
        print(f"  {kind:10} {kib(keys / n):>10} per mail over {n} ({kib(delta)}) "
              f"(goal <= {kib(BYTES_TARGET)})")  # fmt: skip


class Deployment:
    """`cases` e-mail cases under their own key prefix, and replies to random ones of them."""

    def __init__(self, url: str, cases: int) -> None:
        from channels.blobs import FsBlobStore
        from gateway.config import load_config
        from gateway.intake import Intake
        from routing.scripts import Scripts

        self.cases = cases
        self.config = load_config(CONFIG, env={})
        self.client = aioredis.Redis.from_url(url)
        self.scripts = Scripts(self.client, Keys(prefix=f"{{b{cases}}}:"))
        self.intake = Intake(self.scripts, FsBlobStore(tempfile.mkdtemp()))

    async def fill(self) -> None:
        from routing import sync

        await self.scripts.load()
        await sync.apply(self.scripts, self.config.routing, self.config.version)
        for start in range(0, self.cases, 50):
            batch = range(start, min(self.cases, start + 50))
            await asyncio.gather(*(self.intake.submit(self.config, message(None)) for _ in batch))

    async def replies(self, count: int) -> float:
        """Seconds spent in `count` replies' intake steps."""
        elapsed = 0.0
        for _ in range(count):
            reply = message(random.randint(1, self.cases))
            began = time.perf_counter()
            await self.intake.submit(self.config, reply)
            elapsed += time.perf_counter() - began
        return elapsed


def message(hint: int | None) -> Any:
    """One customer wrote every case: a reply always passes the sender check and continues
    its case (no new cases while measuring)."""
    from channels.message import InboundMessage, MailThread

    return InboundMessage(
        channel="email", dedupe_scope="email", delivery_id=uuid.uuid4().hex,
        sender_email="customer@example.org", to="support@example.com", text=TEXT[:200],
        subject="Order", threading="case" if hint else "new", case_hint=hint,
        mail=MailThread(message_id=uuid.uuid4().hex),
    )  # fmt: skip


async def lookup_costs(url: str, sizes: Sequence[int], replies: int, rounds: int) -> list[float]:
    """Mean seconds per reply at each size, the sizes alternating in rounds (shared noise)."""
    deployments = [Deployment(url, n) for n in sizes]
    for deployment in deployments:
        await deployment.fill()
        await deployment.replies(replies // 4)  # warm-up: first calls, pooled connections
    totals = [0.0] * len(sizes)
    for _ in range(rounds):
        for i, deployment in enumerate(deployments):
            totals[i] += await deployment.replies(replies // rounds)
    for deployment in deployments:
        await deployment.client.aclose()
    return [total / (replies // rounds * rounds) for total in totals]


def lookup(replies: int, big: int) -> None:
    with valkey() as (url, _client):
        small_cost, big_cost = asyncio.run(lookup_costs(url, (10, big), replies, rounds=10))
    print(f"threading: a reply's intake step {small_cost * 1e6:.0f} us at 10 cases, "
          f"{big_cost * 1e6:.0f} us at {big:,}: {big_cost / small_cost:.2f}x "
          f"(goal <= {LOOKUP_TARGET})")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, 10,000 cases")
    parser.add_argument("--only", choices=("throughput", "memory", "lookup"), help="one part")
    parser.add_argument("--kind", choices=tuple(TEMPLATES), help="throughput of one mail kind")
    parser.add_argument("--floor", nargs=2, metavar=("PORT", "REDIS_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor:
        floor_main(int(args.floor[0]), args.floor[1])
        return 0
    print(f"load shared with whatever else runs on this host ({os.cpu_count()} CPUs)")
    work = tempfile.mkdtemp(prefix="smtp-bench-")
    if args.only in (None, "throughput"):
        throughput(
            3.0 if args.quick else 10.0, work, (args.kind,) if args.kind else tuple(TEMPLATES)
        )
    if args.only in (None, "memory"):
        memory(100 if args.quick else 400, work)
    if args.only in (None, "lookup"):
        lookup(500 if args.quick else 3000, 10_000 if args.quick else 100_000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
