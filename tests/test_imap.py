"""IMAP mailboxes polled into cases, against real servers (pymap; Dovecot where installed)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
from aiohttp.test_utils import TestClient

from gateway.config import Config, load_config
from gateway.http.app import build_app
from routing.keys import Keys
from tests.conftest import ADMIN, SAMPLE
from tests.imap_servers import KINDS, PASSWORD, USER, CuttingProxy, ImapServer, make_server
from tests.test_durability import Valkey

T = TypeVar("T")
SEEN = rb"\Seen"
POLLER_LOG = "gateway.imap.poller"


@pytest.fixture(params=KINDS)
def imap(request: pytest.FixtureRequest) -> Iterator[ImapServer]:
    # not under pytest's 0700 tmp_path: Dovecot's unprivileged processes must reach the mail
    directory = Path(tempfile.mkdtemp(prefix="imap-"))
    server = make_server(request.param, directory)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


def box_config(tmp_path: Path, port: int, folder: str = "INBOX", processed: str = "") -> Config:
    """The sample config with one plain-text mailbox on loopback."""
    text = SAMPLE.read_text() + f"""
[[channels.email.imap]]
host = "127.0.0.1"
port = {port}
tls = false
user = "{USER}"
password = "{PASSWORD}"
folder = "{folder}"
poll_interval = "1s"
processed_folder = "{processed}"
"""
    path = tmp_path / "imap.toml"
    path.write_text(text)
    return load_config(str(path), env={})


def mail(n: int, body: str = "My parcel did not arrive.") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {n} <customer{n}@example.org>"
    msg["To"] = "support@example.com"
    msg["Subject"] = f"Question {n}"
    msg["Message-ID"] = f"<q{n}.imap-test@client.example.org>"
    msg.set_content(body)
    return msg.as_bytes()


def append(server: ImapServer, folder: str, *raws: bytes, flags: tuple[bytes, ...] = ()) -> None:
    client = server.client()
    for raw in raws:
        client.append(folder, raw, flags=flags)
    client.logout()


def flags_in(server: ImapServer, folder: str) -> list[bool]:
    """Whether each mail in `folder` is \\Seen, in UID order."""
    client = server.client()
    client.select_folder(folder, readonly=True)
    found = client.fetch(client.search(["ALL"]), ["FLAGS"])
    client.logout()
    return [SEEN in found[uid][b"FLAGS"] for uid in sorted(found)]


async def eventually(check: Callable[[], Awaitable[T]], what: str, timeout: float = 20) -> T:
    """Await `check` until it returns something truthy (the poller runs on this very loop)."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def subjects(client: TestClient) -> list[str]:
    response = await client.get("/api/cases", params={"limit": "200"}, headers=ADMIN)
    assert response.status == 200
    return sorted(case["subject"] for case in (await response.json())["cases"])


async def wait_cases(client: TestClient, count: int) -> list[str]:
    async def enough() -> list[str] | None:
        found = await subjects(client)
        assert len(found) <= count, found
        return found if len(found) == count else None

    return await eventually(enough, f"{count} cases")


def stored_uids(caplog: pytest.LogCaptureFixture) -> list[Any]:
    """Every UID a poller stored (a repeat, even one deduplicated by the intake, shows twice)."""
    return [
        record.args[1]
        for record in caplog.records
        if record.name == POLLER_LOG and "stored" in record.msg and isinstance(record.args, tuple)
    ]


@pytest.fixture
def poller_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=POLLER_LOG)
    return caplog


@pytest.fixture
async def start_app(
    aiohttp_client: Any, redis_url: str, keys: Keys
) -> AsyncIterator[Callable[..., Awaitable[TestClient]]]:
    async def start(config: Config, url: str = redis_url) -> TestClient:
        client: TestClient = await aiohttp_client(build_app(config, url, keys))
        return client

    yield start


async def test_new_mail_becomes_a_case_then_seen(
    imap: ImapServer, tmp_path: Path, start_app: Any, keys: Keys, sync_redis: redis.Redis
) -> None:
    append(imap, "INBOX", mail(1))  # waiting before the poller starts
    client = await start_app(box_config(tmp_path, imap.port))
    assert await wait_cases(client, 1) == ["Question 1"]
    append(imap, "INBOX", mail(2))  # arrives while the poller idles
    assert await wait_cases(client, 2) == ["Question 1", "Question 2"]
    assert flags_in(imap, "INBOX") == [True, True]
    state = sync_redis.hgetall(keys.imap(f"{USER}@127.0.0.1:{imap.port}/INBOX"))
    assert set(state) == {b"v", b"last"}
