"""`python -m gateway serve` as real processes: embedded Valkey, acceptors, workers, signals.

Each test runs in its own directory, so `var/redis` (the embedded data dir) is private to it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from redis import Redis
from rq.job import JobStatus

from tests.helpers import (
    SAMPLE_CONFIG,
    Serve,
    alive,
    descendants,
    free_port,
    product_env,
    wait_for,
)
from worker.queues import enqueue

StartServe = Callable[..., Serve]


def stop_cleanly(process: Serve) -> None:
    """SIGTERM: exit 0 within 10 s, and nothing it started (Valkey included) outlives it."""
    started = descendants(process.proc.pid)
    assert process.stop(timeout=10) == 0, process.log()
    leftovers = {pid: line for pid, line in started.items() if alive(pid)}
    assert not leftovers, f"still running: {leftovers}\n{process.log()}"


def test_serve_starts_embedded_valkey_and_keeps_data_across_restarts(
    serve: StartServe, tmp_path: Path
) -> None:
    first = serve("--workers", "1")
    first.wait_ready()
    status, body = first.readyz()
    assert status == 200 and body["status"] == "ready"
    assert first.children("valkey-server") and first.children("worker")
    Redis.from_url(first.embedded_url()).set("test:durable", "kept")
    stop_cleanly(first)
    assert (tmp_path / "var" / "redis" / "appendonlydir").is_dir()

    second = serve("--workers", "0")
    second.wait_ready()
    assert Redis.from_url(second.embedded_url()).get("test:durable") == b"kept"
    stop_cleanly(second)


def test_invalid_config_exits_1_before_binding_or_starting_valkey(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    config.write_text(text.replace('default_region = "RU"', "default_region = 7", 1))
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--http", f"127.0.0.1:{port}"],
        cwd=tmp_path, env=product_env(), capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() and all(
        line.startswith("config.toml: ") for line in result.stdout.splitlines()
    ), result.stdout
    assert "gateway.default_region" in result.stdout
    assert not (tmp_path / "var").exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_port_in_use_exits_1_without_starting_anything(serve: StartServe, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = serve("--http", f"127.0.0.1:{port}")
        assert process.proc.wait(30) == 1
    assert "cannot listen" in process.log()
    assert not (tmp_path / "var").exists()


def test_acceptors_share_the_port_and_are_restarted(serve: StartServe) -> None:
    process = serve("--processes", "2", "--workers", "1")
    process.wait_ready()
    acceptors = process.children("gateway.process.acceptor")
    assert len(acceptors) == 2
    assert wait_for(lambda: pids_seen(process, 60) == set(acceptors), 20, "both acceptors")

    os.kill(acceptors[0], signal.SIGKILL)
    replacement = wait_for(
        lambda: pids_seen(process, 10) - set(acceptors), 15, "a restarted acceptor serving"
    )
    assert len(replacement) == 1
    assert "acceptor-1" in process.log() and "restarting" in process.log()
    stop_cleanly(process)


def test_worker_child_runs_enqueued_jobs(serve: StartServe) -> None:
    process = serve("--workers", "1")
    process.wait_ready()
    assert len(process.children("-m worker")) >= 1
    job = enqueue(Redis.from_url(process.embedded_url()), "os.getpid")
    wait_for(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, 20, "the job to run")
    assert isinstance(job.return_value(), int)
    stop_cleanly(process)


def test_children_die_with_a_killed_serve(serve: StartServe) -> None:
    process = serve("--processes", "2", "--workers", "1")
    process.wait_ready()
    started = descendants(process.proc.pid)
    assert any("valkey-server" in line for line in started.values())
    process.kill()  # SIGKILL: no chance to stop anything; PR_SET_PDEATHSIG must
    try:
        wait_for(lambda: not any(alive(pid) for pid in started), 15, "orphans to exit")
    except AssertionError:
        raise AssertionError({pid: started[pid] for pid in started if alive(pid)}) from None


def pids_seen(process: Serve, requests: int) -> set[int]:
    """Acceptor pids answering /readyz; every request is a new connection."""
    pids = set()
    for _ in range(requests):
        status, body = process.readyz()
        if status == 200:
            pids.add(body["pid"])
    return pids
