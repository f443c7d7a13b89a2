"""Shared fixtures: one real Valkey per session (or INTAKE_TEST_REDIS_URL), a key prefix per
test, the sample config, and an in-process gateway behind a real HTTP client."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web_runner import BaseRunner

from channels.signature import sign
from gateway.config import Config, load_config
from gateway.http.app import build_app
from gateway.http.errors import AppRunner
from gateway.process.embedded import EmbeddedValkey
from routing.keys import Keys
from tests.helpers import SAMPLE_CONFIG, Serve

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "config.toml"
ADMIN = {"Authorization": "Bearer change-me-admin"}
# shared fixtures
pytest_plugins = ["tests.browser", "tests.rq_jobs", "tests.outbound_servers", "tests.log_lines"]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server: INTAKE_TEST_REDIS_URL when set (e.g. Redis 7), else embedded Valkey."""
    given = os.environ.get("INTAKE_TEST_REDIS_URL")
    if given:
        yield given
        return
    server = EmbeddedValkey(str(tmp_path_factory.mktemp("valkey")))
    url = server.start()
    yield url
    server.stop()


@pytest.fixture
def keys(redis_url: str) -> Iterator[Keys]:
    """A key prefix of this test's own; its keys are removed afterwards (never FLUSHDB)."""
    found = Keys(prefix=f"{{t{uuid.uuid4().hex[:10]}}}:")
    yield found
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{found.prefix}*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture
def sync_redis(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The sample, its blob store in the test's own directory (not the repository's var/)."""
    loaded = load_config(str(SAMPLE), env={})
    return dataclasses.replace(loaded, blobs_dir=str(tmp_path / "blobs"))


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Config]:
    """A config from TOML text (a test's own routing setup)."""

    def write(text: str) -> Config:
        path = tmp_path / f"config-{uuid.uuid4().hex[:6]}.toml"
        path.write_text(text)
        loaded = load_config(str(path), env={})
        return dataclasses.replace(loaded, blobs_dir=str(tmp_path / "blobs"))

    return write


GatewayFactory = Callable[[Config], Awaitable[TestClient]]


@pytest.fixture
async def make_gateway(
    aiohttp_client: Any, redis_url: str, keys: Keys
) -> AsyncIterator[GatewayFactory]:
    """Start the real application on a loopback port with `config`; all share the test's keys."""

    async def start(config: Config) -> TestClient:
        client: TestClient = await aiohttp_client(build_app(config, redis_url, keys))
        return client

    yield start


@pytest.fixture
async def gateway(make_gateway: GatewayFactory, config: Config) -> TestClient:
    return await make_gateway(config)


def signed_sms(payload: dict[str, Any], secret: str = "sample-sms-secret") -> dict[str, Any]:
    """Keyword arguments for `client.post("/hooks/sms", **signed_sms({...}))`."""
    body = json.dumps(payload).encode()
    headers = {"X-Intake-Signature": sign(secret, body), "Content-Type": "application/json"}
    return {"data": body, "headers": headers}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Serve]]:
    """`serve(*flags, config=path)` starts `python -m gateway serve` with cwd `tmp_path`
    (so the embedded data dir is private) on free ports; leftovers are killed afterwards."""
    started: list[Serve] = []

    def start(*flags: str, config: Path = SAMPLE_CONFIG) -> Serve:
        started.append(Serve(tmp_path, *flags, config=config))
        return started[-1]

    yield start
    for process in started:
        process.kill()


class JsonErrorTestServer(TestServer):
    """The test server with the acceptor's runner, so parser errors get the JSON body too."""

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        return AppRunner(self.app, **kwargs)


@pytest.fixture
async def edge(aiohttp_client: Any, redis_url: str, keys: Keys, config: Config) -> TestClient:
    """The sample-config gateway as the acceptor serves it (parser errors included)."""
    server = JsonErrorTestServer(build_app(config, redis_url, keys))
    client: TestClient = await aiohttp_client(server)
    return client
