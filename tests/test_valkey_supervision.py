"""Faults under load, as real processes: the embedded Valkey SIGKILLed, stopped or corrupt; the
whole `serve` SIGKILLed; an external Valkey restarted. A retrying provider sees only 2xx and
503 while the acceptors run, and every message is stored exactly once."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient
from redis import Redis
from rq.job import JobStatus

from gateway.config import Config
from gateway.http.api.operators import SSE_BLOCK_MS
from gateway.http.app import build_app
from routing.keys import Keys
from tests.conftest import ADMIN, signed_sms
from tests.helpers import Serve, get_json, wait_for
from tests.test_durability import Valkey
from tests.test_events import next_event
from worker.queues import enqueue

StartServe = Callable[..., Serve]
MESSAGES = 240
SENDERS = 20
PROVIDERS = 4  # threads posting at once
GIVE_UP = 60.0  # seconds one message is retried before the provider gives up on it


class Provider:
    """Delivers MESSAGES signed SMS like a provider: each retried with the same id until a 2xx.

    `answers[phase]` counts the statuses seen (0: no HTTP answer) for requests sent while `phase`
    was set. With `hold`, the last third waits for `release` to be set, so a test can be sure
    some messages are still to be sent when its outage starts.
    """

    def __init__(self, base_url: str, hold: bool = False) -> None:
        self.base_url = base_url
        self.phase = "up"
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.answers: dict[str, Counter[int]] = {}
        self.delivered: list[str] = []
        self._lock = threading.Lock()
        self._todo: queue.Queue[int] = queue.Queue()
        for n in range(MESSAGES):
            self._todo.put(n)
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(PROVIDERS)]
        for thread in self._threads:
            thread.start()

    def wait_delivered(self, count: int) -> None:
        wait_for(lambda: len(self.delivered) >= count, 30, f"{count} messages delivered")

    def seen(self, status: int) -> int:
        with self._lock:
            return sum(counts[status] for counts in self.answers.values())

    def join(self) -> None:
        for thread in self._threads:
            thread.join(GIVE_UP + 10)
        assert len(self.delivered) == MESSAGES, self.answers

    def _run(self) -> None:
        while True:
            try:
                n = self._todo.get_nowait()
            except queue.Empty:
                return
            if n >= MESSAGES * 2 // 3:
                self.release.wait(GIVE_UP)
            self._deliver(n)

    def _deliver(self, n: int) -> None:
        sms = {"id": f"m{n}", "from": f"+7916000{n % SENDERS:04d}", "to": "+74950000099"}
        deadline = time.monotonic() + GIVE_UP
        while time.monotonic() < deadline:
            # phase and address as the request leaves: one sent to the old serve counts as "down"
            phase, base_url = self.phase, self.base_url
            status = self._post(base_url, signed_sms({**sms, "text": f"m{n}"}))
            with self._lock:
                self.answers.setdefault(phase, Counter())[status] += 1
                if 200 <= status < 300:
                    self.delivered.append(f"m{n}")
                    return
            time.sleep(0.02)

    def _post(self, base_url: str, request: dict[str, Any]) -> int:
        connection = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=10)
        try:
            connection.request("POST", "/hooks/sms", request["data"], request["headers"])
            response = connection.getresponse()
            response.read()
            return response.status
        except OSError:
            return 0
        finally:
            connection.close()


def stored_texts(base_url: str) -> list[str]:
    """Every inbound message text of every case, through the API."""
    texts, cursor = [], ""
    while True:
        status, page = api(base_url, f"/api/cases?limit=200{cursor}")
        assert status == 200, page
        for case in page["cases"]:
            status, full = api(base_url, f"/api/cases/{case['id']}")
            assert status == 200, full
            texts += [e["text"] for e in full["timeline"] if e["kind"] == "message"]
        if page["next_cursor"] is None:
            return sorted(texts)
        cursor = f"&cursor={page['next_cursor']}"


def api(base_url: str, path: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=10)
    try:
        connection.request("GET", path, headers=ADMIN)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


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
