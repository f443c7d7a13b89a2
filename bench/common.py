"""What the benchmarks share: request sources, the load generator's job, server processes, Valkey.

The load generator (`bench/loadgen.py`) runs in its own process; it gets a pickled `Job` on stdin
and builds every request (signatures included) before its clock starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

import redis

from channels.signature import sign
from gateway.process.embedded import EmbeddedValkey

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "config.toml")
SMS_SECRET = "sample-sms-secret"  # [channels.sms].secret of the sample config
HOST = "127.0.0.1"
TEXT_100 = (  # a short SMS: 100 characters
    "Hello! My order 4711 has not arrived yet. "
    "Could you check the delivery status, please? Thanks, Ivan!"
)
assert len(TEXT_100) == 100
START_TIMEOUT = 30.0


# ---------------------------------------------------------------- requests


def http_request(path: str, body: bytes, content_type: str, *extra: tuple[str, str]) -> bytes:
    """One complete HTTP/1.1 keep-alive request, ready to write to a socket."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {HOST}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in extra),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def phone(n: int) -> str:
    """The n-th test number: valid Russian mobile numbers in E.164, +7916 then 7 digits."""
    return f"+7916{n % 10_000_000:07d}"


def sms_body(delivery_id: str, sender: str, text: str = TEXT_100) -> bytes:
    body = {"id": delivery_id, "from": sender, "to": "+74950000000", "text": text}
    return json.dumps(body, separators=(",", ":")).encode()


def form_fields(n: int) -> dict[str, str]:
    return {
        "name": f"Customer {n}",
        "phone": phone(n),
        "email": f"customer{n}@example.net",
        "topic": "general",
        "message": TEXT_100,
    }


def urlencoded_form(n: int) -> bytes:
    body = urlencode(form_fields(n)).encode()
    return http_request(
        "/forms/contact",
        body,
        "application/x-www-form-urlencoded",
        ("Accept", "application/json"),
    )


# What a browser sends with a plain <form method="post">: it follows the 303 it gets back.
BROWSER_HEADERS = (
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Accept-Language", "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Origin", f"http://{HOST}"),
    ("Referer", f"http://{HOST}/contact"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"),
    ("Cookie", "session=5f0c3a9e2b7d41c8a6e1d2f3b4c5a697; theme=light"),
)


def browser_form(n: int) -> bytes:
    """A browser's urlencoded post, answered 303 to the form's redirect."""
    body = urlencode(form_fields(n)).encode()
    return http_request(
        "/forms/contact", body, "application/x-www-form-urlencoded", *BROWSER_HEADERS
    )


def json_form(n: int) -> bytes:
    """A script's JSON post (fetch() on the form's page), answered 201 with the case id."""
    body = json.dumps(form_fields(n), separators=(",", ":")).encode()
    return http_request("/forms/contact", body, "application/json")


def multipart_form(
    n: int,
    attachment: bytes,
    boundary: str = "bench7MA4YWxkTrZu0gW",
    headers: Sequence[tuple[str, str]] = (("Accept", "application/json"),),
) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in form_fields(n).items()
    ]
    file_head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="photo-{n}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    ).encode()
    body = b"".join(parts) + file_head + attachment + f"\r\n--{boundary}--\r\n".encode()
    return http_request(
        "/forms/contact", body, f"multipart/form-data; boundary={boundary}", *headers
    )


def browser_multipart(n: int, attachment: bytes) -> bytes:
    """A browser's multipart post: like every browser, a new boundary for every submission."""
    boundary = f"----WebKitFormBoundary{random.Random(n).getrandbits(64):016x}"
    return multipart_form(n, attachment, boundary, BROWSER_HEADERS)


class RequestSource(Protocol):
    """Builds request `i` of a run; `at` is the unix time it is planned to be sent."""

    def request(self, i: int, at: float) -> bytes: ...


@dataclass
class Cycle:
    """A fixed pool of requests, reused in turn (floors and forms: no ids to keep unique)."""

    pool: list[bytes]

    def request(self, i: int, at: float) -> bytes:
        return self.pool[i % len(self.pool)]


@dataclass
class SignedSms:
    """`POST /hooks/sms` with unique ids, signed for the planned send time.

    pool > 0: senders drawn at random from `pool` numbers (new and known contacts both occur);
    pool == 0: every request from a new number (offset + i).
    """

    run_id: str
    pool: int = 10_000
    offset: int = 0
    seed: int = 1
    path: str = "/hooks/sms"
    signed: bool = True
    _rng: random.Random | None = field(default=None, repr=False)

    def request(self, i: int, at: float) -> bytes:
        if self._rng is None:
            self._rng = random.Random(self.seed)
        n = self.offset + (self._rng.randrange(self.pool) if self.pool else i)
        body = sms_body(f"{self.run_id}-{i}", phone(n))
        headers = [("X-Intake-Signature", sign(SMS_SECRET, body, int(at)))] if self.signed else []
        return http_request(self.path, body, "application/json", *headers)


@dataclass
class Mixed:
    """Interleaves sources by weight: with weights (8, 1, 1), 8 of every 10 come from the first."""

    parts: list[tuple[int, RequestSource]]

    def request(self, i: int, at: float) -> bytes:
        total = sum(weight for weight, _ in self.parts)
        slot = i % total
        for weight, source in self.parts:
            if slot < weight:
                return source.request(i, at)
            slot -= weight
        raise AssertionError("unreachable")


# ---------------------------------------------------------------- the generator's job


@dataclass
class Job:
    """One load generator run against `port`.

    Closed loop (rate None): each connection sends its next request when the previous answer
    arrived. Open loop (rate set): request i is due at start + i / rate and its latency counts
    from then, so a slow server is not hidden by fewer requests being sent (no coordinated
    omission); `connections` caps the requests in flight. duration None: until `count` are done.
    """

    port: int
    source: RequestSource
    connections: int
    duration: float | None
    count: int
    warmup: float = 1.0
    rate: float | None = None
    ok_statuses: tuple[int, ...] = (200, 201, 303)
    progress_every: float = 0.0  # seconds; 0: no progress lines


@dataclass
class Result:
    requests: int  # answered within the measured window
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]
    exhausted: bool  # the requests ran out before the duration ended
    answered: int  # warm-up included
    server_cpu_us: float = 0.0  # CPU time of the server's process tree per answered request
    valkey_cpu_us: float = 0.0
    unsent: int = 0  # open loop: due in the window, never sent (the server fell far behind)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def run_job(job: Job, on_progress: Any = None) -> Result:
    """Run the load generator in its own process; `on_progress(dict)` gets its progress lines."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.loadgen"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=child_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(pickle.dumps(job))
    proc.stdin.close()
    result: dict[str, Any] | None = None
    for line in proc.stdout:
        message = json.loads(line)
        if "progress" in message and on_progress is not None:
            on_progress(message["progress"])
        elif "result" in message:
            result = message["result"]
    if proc.wait() != 0 or result is None:
        raise RuntimeError(f"load generator failed (exit {proc.returncode})")
    result["statuses"] = {int(k): v for k, v in result["statuses"].items()}
    return Result(**result)


# ---------------------------------------------------------------- processes


def child_env() -> dict[str, str]:
    """Our environment with the repository importable, minus variables the gateway would read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH", "")]))
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A server process of ours that answers `GET /readyz` on `port` once it can take load."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: str

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/readyz", timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start; log {self.log_path}:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as file:
            return "".join(file.readlines()[-lines:])


def start_server(name: str, argv: Sequence[str], port: int, log_dir: str) -> Server:
    log_path = os.path.join(log_dir, f"{name}.log")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=child_env(), stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(name, proc, port, log_path)
    server.wait_ready()
    return server


def start_gateway(
    redis_url: str, log_dir: str, processes: int = 1, workers: int = 0, config: str = CONFIG
) -> Server:
    """`python -m gateway serve` on `config` (the sample), free ports, the given Valkey."""
    port = free_port()
    argv = [
        sys.executable, "-m", "gateway", "serve",
        "--config", config,
        "--http", f"{HOST}:{port}",
        "--smtp", f"{HOST}:{free_port()}",
        "--redis-url", redis_url,
        "--processes", str(processes),
        "--workers", str(workers),
    ]  # fmt: skip
    return start_server(f"gateway-p{processes}", argv, port, log_dir)


def start_floor(redis_url: str, log_dir: str) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "bench.floor", "--port", str(port), "--redis-url", redis_url]
    return start_server("floor", argv, port, log_dir)


@contextlib.contextmanager
def valkey() -> Iterator[tuple[str, redis.Redis]]:
    """A private embedded Valkey (the one `serve` runs, AOF on) in a temporary directory."""
    data_dir = tempfile.mkdtemp(prefix="intake-bench-")
    server = EmbeddedValkey(data_dir)
    url = server.start()
    client = redis.Redis.from_url(url)
    try:
        yield url, client
    finally:
        client.close()
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def used_memory(client: redis.Redis) -> int:
    info: dict[str, Any] = client.info("memory")
    return int(info["used_memory"])


def server_pid(client: redis.Redis) -> int:
    info: dict[str, Any] = client.info("server")
    return int(info["process_id"])


def server_version(client: redis.Redis) -> str:
    info: dict[str, Any] = client.info("server")
    return str(info.get("valkey_version") or info.get("redis_version"))


# ---------------------------------------------------------------- /proc


def descendants(root: int) -> list[int]:
    """`root` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as file:
                stat = file.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as file:
            for line in file:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of `pids` so far (live processes only)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def tree_rss(root: int) -> tuple[int, int]:
    """(RSS summed over the process tree, number of processes)."""
    pids = descendants(root)
    return sum(rss_bytes(pid) for pid in pids), len(pids)


# ---------------------------------------------------------------- formatting


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def loop_name() -> str:
    try:
        import uvloop
    except ImportError:
        return "asyncio (uvloop not installed)"
    return f"uvloop {getattr(uvloop, '__version__', '?')}"


def kib(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"


def mib(n: float) -> str:
    return f"{n / 1024 / 1024:,.1f} MiB"
