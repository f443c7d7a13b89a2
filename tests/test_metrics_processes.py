"""`serve --processes 2 --workers 1`: /metrics on either acceptor sums every process's counters
(prometheus_client's multiprocess mode), and the worker's RQ outcomes and the outbox lag show."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import Serve, get_json, wait_for
from tests.http_load import send_sms
from tests.metrics_text import total
from tests.smtp_helpers import mail, send_sync, wire

N = 20
ADMIN_TOKEN = "change-me-admin"


def scrape(base: str) -> str:
    request = urllib.request.Request(base + "/metrics")
    request.add_header("Authorization", f"Bearer {ADMIN_TOKEN}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


def both_acceptors(base: str) -> tuple[int, set[int]]:
    """GET /healthz on fresh connections until both acceptors answered: (calls, their pids).
    The second may start listening a while after the first answers (a loaded CI machine)."""
    pids: set[int] = set()
    calls = 0
    deadline = time.monotonic() + 30
    while len(pids) < 2 and time.monotonic() < deadline:
        status, body = get_json(base + "/healthz")
        assert status == 200
        calls += 1
        pids.add(body["pid"])
        if calls % 50 == 0:
            time.sleep(0.2)
    return calls, pids


def test_two_acceptors_report_the_sum_of_their_counts(serve: Callable[..., Serve]) -> None:
    gateway = serve("--processes", "2", "--workers", "1")
    gateway.wait_ready()
    calls, pids = both_acceptors(gateway.base_url)
    assert len(pids) == 2, "the kernel never gave the second acceptor a connection"
    for n in range(N):
        assert send_sms(gateway.base_url, f"+7916555{n:04d}", f"agg-{n}") == 200
    for _ in range(4):  # either acceptor answers; each reads every process's files
        body = scrape(gateway.base_url)
        assert total(body, "intake_http_requests_total", route="/healthz") == calls
        assert total(body, "intake_http_requests_total", route="/hooks/sms", status="2xx") == N
        assert total(body, "intake_intake_duration_seconds_count", channel="sms") == N
        assert total(body, "intake_lua_step_duration_seconds_count", function="intake") == N
    assert gateway.stop() == 0  # and serve removes its metrics directory


def stale_counts(directory: Path) -> None:
    """What a previous run left in the directory: a process's counter file."""
    code = (
        "from prometheus_client import Counter\n"
        "Counter('intake_http_requests', 'x', ['route', 'method', 'status'])"
        ".labels('/stale', 'GET', '2xx').inc(5)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert list(directory.glob("counter_*.db"))


def test_the_worker_counts_job_outcomes_and_the_feeder_the_outbox_lag(
    serve: Callable[..., Serve], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mail to billing (ack = true) makes an acknowledgement: outbox entry, RQ job, worker.
    The metrics directory given in the environment is emptied first and kept afterwards."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    stale_counts(directory)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    gateway = serve("--processes", "1", "--workers", "1")
    gateway.wait_ready()
    send_sync(gateway.smtp_port, wire(mail(message_id="<ack-1@client.example.org>")),
              to=("billing@example.com",))  # fmt: skip

    def job_counted() -> str | None:
        body = scrape(gateway.base_url)
        return body if total(body, "intake_rq_jobs_total") >= 1 else None

    body = wait_for(job_counted, 30, "the worker to count the acknowledgement's job")
    assert total(body, "intake_rq_jobs_total", job="worker.jobs.send_email") >= 1
    assert total(body, "intake_outbox_lag_seconds_count", job="deliver") >= 1
    assert total(body, "intake_smtp_replies_total", code="354") == 1
    assert "/stale" not in body
    assert gateway.stop() == 0
    assert directory.is_dir() and list(directory.glob("counter_*.db"))  # not ours to remove
