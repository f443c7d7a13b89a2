"""Faults under load, as real processes: the embedded Valkey SIGKILLed, stopped or corrupt; the
whole `serve` SIGKILLed; an external Valkey restarted. A retrying provider sees only 2xx and
503 while the acceptors run, and every message is stored exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis import Redis
from rq.job import JobStatus

from gateway.config import Config
from gateway.http.api.operators import SSE_BLOCK_MS
from gateway.http.app import build_app
from routing.keys import Keys
from tests.conftest import signed_sms
from tests.helpers import Serve, get_json, wait_for
from tests.providers import MESSAGES, Provider, stored_texts
from tests.test_durability import Valkey
from tests.test_events import next_event
from worker.queues import enqueue

StartServe = Callable[..., Serve]


def valkey_pid(process: Serve) -> int:
    pids = wait_for(lambda: process.children("valkey-server"), 10, "an embedded valkey")
    assert len(pids) == 1, pids
    return int(pids[0])


def kill_valkey(process: Serve) -> int:
    """SIGKILL the embedded Valkey; the new one's pid once /readyz is 200 again."""
    old = valkey_pid(process)
    os.kill(old, signal.SIGKILL)
    assert process.readyz()[0] == 503  # restarting waits at least a backoff of 0.25 s
    new = wait_for(lambda: set(process.children("valkey-server")) - {old}, 10, "a new valkey")
    wait_for(lambda: process.readyz()[0] == 200, 10, "/readyz after the restart")
    return int(new.pop())


def assert_job_runs(redis_url: str) -> None:
    """A worker (reconnected or restarted by `serve`) still takes jobs."""
    job = enqueue(Redis.from_url(redis_url), "os.getpid")
    wait_for(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, 30, "the job to run")


def test_sigkilled_embedded_valkey_comes_back_under_a_retrying_provider(
    serve: StartServe,
) -> None:
    process = serve("--processes", "2", "--workers", "1")
    process.wait_ready()
    acceptors = process.children("gateway.process.acceptor")
    worker = min(process.children("-m worker"))  # its RQ scheduler is a later fork
    provider = Provider(process.base_url)
    for kill in (1, 2):
        provider.wait_delivered(kill * MESSAGES // 3)
        kill_valkey(process)
    provider.join()

    answers = provider.answers["up"]
    assert set(answers) <= {200, 503} and answers[503] > 0, answers
    assert stored_texts(process.base_url) == sorted(provider.delivered)
    assert len(set(provider.delivered)) == MESSAGES
    assert (
        process.children("gateway.process.acceptor") == acceptors
    )  # they reconnected, not restarted
    assert worker in process.children("-m worker")
    log = process.log()
    assert log.count("exited with signal SIGKILL") == 2 and "restarting it on unix://" in log
    assert_job_runs(process.embedded_url())
    assert process.stop() == 0, process.log()


def test_sigkilled_serve_restarted_on_the_same_data_stores_each_message_once(
    serve: StartServe,
) -> None:
    first = serve("--workers", "0")
    first.wait_ready()
    provider = Provider(first.base_url)
    provider.wait_delivered(MESSAGES // 3)
    provider.phase = "down"
    first.kill()  # its Valkey gets SIGTERM through PR_SET_PDEATHSIG and flushes its AOF
    second = serve("--workers", "0")
    second.wait_ready()
    provider.base_url = second.base_url  # the provider is pointed at the new address
    provider.phase = "up"
    provider.join()

    assert set(provider.answers["up"]) <= {200, 503}, provider.answers
    assert set(provider.answers.get("down", ())) <= {0, 200, 503}, provider.answers
    assert stored_texts(second.base_url) == sorted(provider.delivered)
    assert len(set(provider.delivered)) == MESSAGES
    assert second.stop() == 0, second.log()


def test_a_silent_embedded_valkey_is_killed_and_started_again(serve: StartServe) -> None:
    process = serve("--workers", "0")
    process.wait_ready()
    old = valkey_pid(process)
    os.kill(old, signal.SIGSTOP)  # alive but answering nothing
    wait_for(lambda: set(process.children("valkey-server")) - {old}, 15, "a new valkey")
    wait_for(lambda: process.readyz()[0] == 200, 10, "/readyz after the restart")
    assert "did not answer PING" in process.log()
    assert process.stop() == 0, process.log()


def test_valkey_that_dies_at_start_makes_serve_exit_1_with_its_log(
    serve: StartServe, tmp_path: Path
) -> None:
    aof = tmp_path / "var" / "redis" / "appendonlydir"
    aof.mkdir(parents=True)
    (aof / "appendonly.aof.manifest").write_text("file appendonly.aof.1.incr.aof seq 1 type i\n")
    (aof / "appendonly.aof.1.incr.aof").write_bytes(b"this is no append-only file\r\n" * 10)
    process = serve("--workers", "0")
    assert process.proc.wait(30) == 1, process.log()
    log = process.log()
    assert "Embedded Valkey exited with code 1 at start" in log, log
    assert "Bad file format reading the append only file" in log, log  # Valkey's own log line
    assert not process.children("valkey-server")


def test_valkey_that_cannot_come_back_makes_serve_exit_1_after_five_starts(
    serve: StartServe, tmp_path: Path
) -> None:
    process = serve("--workers", "0")
    process.wait_ready()
    pid = valkey_pid(process)
    for aof in (tmp_path / "var" / "redis" / "appendonlydir").glob("*.incr.aof"):
        aof.write_bytes(b"this is no append-only file\r\n")
    os.kill(pid, signal.SIGKILL)
    assert process.proc.wait(60) == 1, process.log()
    log = process.log()
    assert log.count("exited with code 1 after") == 4, log  # the fifth ends serve
    assert "5 starts in a row never answered PING, giving up" in log, log
    assert "Bad file format reading the append only file" in log, log


@pytest.fixture
def external(tmp_path: Path) -> Iterator[Valkey]:
    data = tmp_path / "external"
    data.mkdir()
    server = Valkey(data)
    server.start()
    yield server
    server.stop()


def test_every_process_reconnects_to_an_external_valkey_that_came_back(
    serve: StartServe, external: Valkey
) -> None:
    process = serve("--processes", "2", "--workers", "1", "--redis-url", external.url)
    process.wait_ready()
    # the sample asks for "always"; the test's server runs Valkey's default everysec
    assert (
        'durability is "always" but the Redis server has appendonly yes, appendfsync everysec'
        in process.log()
    )
    acceptors = process.children("gateway.process.acceptor")
    assert_job_runs(external.url)
    provider = Provider(process.base_url, hold=True)
    provider.wait_delivered(MESSAGES // 3)
    assert external.proc is not None
    external.proc.kill()  # SIGKILL: no goodbye to the clients
    external.proc.wait()
    wait_for(lambda: process.readyz()[0] == 503, 10, "/readyz to say not ready")
    status, body = get_json(process.base_url + "/readyz")
    assert (status, body["error"]["code"]) == (503, "storage_unavailable")
    provider.release.set()  # the held third is sent during the outage and retried after it
    wait_for(lambda: provider.seen(503), 10, "a provider's request answered 503")
    external.start()  # same port, same AOF
    provider.join()

    answers = provider.answers["up"]
    assert set(answers) <= {200, 503} and answers[503] > 0, answers
    assert stored_texts(process.base_url) == sorted(provider.delivered)
    assert process.children("gateway.process.acceptor") == acceptors
    assert_job_runs(external.url)
    assert process.stop() == 0, process.log()


async def test_an_event_stream_stays_open_across_a_valkey_restart(
    aiohttp_client: Any, external: Valkey, config: Config
) -> None:
    client: TestClient = await aiohttp_client(build_app(config, external.url, Keys()))
    anna = {"Authorization": "Bearer sample-token-anna"}
    await client.put("/api/operators/anna/presence", json={"presence": "available"}, headers=anna)
    stream = await client.get("/api/operators/anna/events", headers=anna)
    assert stream.status == 200
    external.stop()
    await asyncio.sleep(SSE_BLOCK_MS / 1000 + 0.5)  # the stream's read failed at least once
    external.start()
    sms = {"id": "sse-1", "from": "+79161230001", "to": "+74950000000", "text": "help"}
    answer = await client.post("/hooks/sms", **signed_sms(sms))
    assert answer.status == 200, await answer.text()
    case_id = (await answer.json())["case_id"]
    assert await next_event(stream) == ("assigned", {"case_id": case_id})
    stream.close()
