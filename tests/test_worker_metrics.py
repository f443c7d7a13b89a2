"""A `python -m worker` run on its own serves its job outcomes at `[metrics] worker_http`
(admin token, as the gateway's /metrics); one that writes to a multiprocess directory, as every
worker `serve` starts does, serves none and its counts land in that directory. Real workers on a
Valkey of the test's own, read with prometheus_client's text parser."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from channels.errors import ConfigError
from gateway.config import Config
from gateway.process.supervisor import spawn, stop_process
from gateway.telemetry.multiproc import ENV
from tests.helpers import SAMPLE_CONFIG, free_port, wait_for
from tests.metrics_text import total
from tests.valkey_servers import start_valkey
from worker.queues import enqueue

ADMIN = "Bearer change-me-admin"


@pytest.fixture
def valkey_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = start_valkey(tmp_path, port)
    yield f"redis://127.0.0.1:{port}/0"
    stop_process(proc, "test valkey", 10)


def worker_config(path: Path, metrics_port: int) -> Path:
    text = SAMPLE_CONFIG.read_text()
    assert "[metrics]\n" in text
    path.write_text(
        text.replace("[metrics]\n", f'[metrics]\nworker_http = "127.0.0.1:{metrics_port}"\n', 1)
    )
    return path


def worker(config: Path, url: str, **env: str) -> subprocess.Popen[bytes]:
    environ = {k: v for k, v in os.environ.items() if k != ENV}
    argv = [sys.executable, "-m", "worker", "--config", str(config), "--redis-url", url]
    return spawn(argv, env={**environ, **env})


def scrape(port: int, authorization: str = ADMIN) -> tuple[int, str]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": authorization}
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def run_two_jobs(url: str) -> None:
    """One that finishes, one that fails."""
    connection = redis.Redis.from_url(url)
    enqueue(connection, "os.getpid")
    enqueue(connection, "json.loads", "not json")
    connection.close()


def test_a_lone_worker_serves_its_job_outcomes(tmp_path: Path, valkey_url: str) -> None:
    port = free_port()
    proc = worker(worker_config(tmp_path / "worker.toml", port), valkey_url)
    try:
        wait_for(lambda: scrape(port)[0] == 200, 20, "the worker's /metrics")
        run_two_jobs(valkey_url)

        def counted() -> str | None:
            status, body = scrape(port)
            assert status == 200
            done = total(body, "intake_rq_jobs_total", job="os.getpid", outcome="finished")
            failed = total(body, "intake_rq_jobs_total", job="json.loads", outcome="failed")
            return body if (done, failed) == (1, 1) else None

        body = wait_for(counted, 30, "both jobs counted")
        assert total(body, "intake_rq_jobs_total") == 2
        for refused in ("", "Bearer sample-token-anna", "Bearer change-me-admi"):
            status, answer = scrape(port, refused)
            assert status == 401 and '"unauthorized"' in answer and "intake_rq" not in answer
    finally:
        stop_process(proc, "worker", 10)
    assert proc.returncode == 0


def test_a_worker_writing_to_a_multiprocess_directory_serves_none(
    tmp_path: Path, valkey_url: str
) -> None:
    port, directory = free_port(), tmp_path / "metrics"
    directory.mkdir()
    proc = worker(
        worker_config(tmp_path / "worker.toml", port), valkey_url, **{ENV: str(directory)}
    )
    try:
        run_two_jobs(valkey_url)

        def summed() -> str | None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=str(directory))
            body = generate_latest(registry).decode()
            return body if total(body, "intake_rq_jobs_total") == 2 else None

        body = wait_for(summed, 30, "both jobs counted in the directory")
        assert total(body, "intake_rq_jobs_total", job="json.loads", outcome="failed") == 1
        assert scrape(port) == (0, "")  # nothing listens: serve's acceptors show these
        assert proc.poll() is None
    finally:
        stop_process(proc, "worker", 10)


def test_worker_http_is_checked_like_every_key(write_config: Callable[[str], Config]) -> None:
    sample = SAMPLE_CONFIG.read_text()
    assert write_config(sample).telemetry.worker_http is None
    given = write_config(sample.replace("[metrics]\n", '[metrics]\nworker_http = "0.0.0.0:9464"\n'))
    assert given.telemetry.worker_http == ("0.0.0.0", 9464)
    with pytest.raises(ConfigError) as error:
        write_config(sample.replace("[metrics]\n", '[metrics]\nworker_http = "nowhere"\n'))
    assert "metrics.worker_http: expected \"HOST:PORT\", got 'nowhere'" in "\n".join(
        error.value.problems
    )
