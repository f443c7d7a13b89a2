"""IMAP mailboxes polled into cases, against real servers (pymap; Dovecot where installed)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
from aiohttp.test_utils import TestClient

from channels.errors import ConfigError
from gateway.config import Config, load_config
from gateway.http.app import build_app
from gateway.imap.poller import batches
from gateway.telemetry import logs
from gateway.telemetry.settings import Telemetry
from routing.keys import Keys
from tests.conftest import ADMIN, SAMPLE
from tests.helpers import free_port
from tests.imap_servers import KINDS, PASSWORD, USER, CuttingProxy, ImapServer, make_server
from tests.log_lines import json_lines
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


MAILBOX = """
[[channels.email.imap]]
host = "127.0.0.1"
port = {port}
tls = false
user = "{user}"
password = "{password}"
folder = "{folder}"
poll_interval = "1s"
processed_folder = "{processed}"
"""


def box_config(
    tmp_path: Path, port: int, folder: str = "INBOX", processed: str = "", max_bytes: int = 0
) -> Config:
    """The sample config with one plain-text mailbox on loopback."""
    text = SAMPLE.read_text()
    if max_bytes:
        text = text.replace("max_message_bytes = 10485760", f"max_message_bytes = {max_bytes}")
    text += MAILBOX.format(
        port=port, user=USER, password=PASSWORD, folder=folder, processed=processed
    )
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


async def test_restart_between_fetches_repeats_nothing(
    imap: ImapServer,
    tmp_path: Path,
    start_app: Any,
    poller_log: pytest.LogCaptureFixture,
    keys: Keys,
    sync_redis: redis.Redis,
) -> None:
    config = box_config(tmp_path, imap.port)
    first = await start_app(config)

    async def looked() -> bool:
        return bool(sync_redis.exists(keys.imap(f"{USER}@127.0.0.1:{imap.port}/INBOX")))

    await eventually(looked, "the poller's first look at the empty folder")
    append(imap, "INBOX", mail(1), mail(2))  # so these are fetched as UID > last
    await wait_cases(first, 2)
    await first.close()  # the poller stops with the app
    append(imap, "INBOX", mail(3))
    second = await start_app(config)
    assert await wait_cases(second, 3) == ["Question 1", "Question 2", "Question 3"]
    uids = stored_uids(poller_log)
    assert len(uids) == len(set(uids)) == 3  # fetched and stored once each, across the restart
    assert flags_in(imap, "INBOX") == [True, True, True]


async def test_uidvalidity_change_fetches_the_unseen_mail_again_stored_once(
    imap: ImapServer, tmp_path: Path, start_app: Any, poller_log: pytest.LogCaptureFixture
) -> None:
    config = box_config(tmp_path, imap.port, folder="Support")
    admin = imap.client()
    admin.create_folder("Support")
    before = admin.folder_status("Support", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    append(imap, "Support", mail(1))
    first = await start_app(config)
    await wait_cases(first, 1)
    await first.close()
    # the folder recreated (a migration, a restore): its UIDs start again under a new validity
    admin.delete_folder("Support")
    admin.create_folder("Support")
    assert admin.folder_status("Support", [b"UIDVALIDITY"])[b"UIDVALIDITY"] != before
    admin.logout()
    append(imap, "Support", mail(0), flags=(SEEN,))  # read before: history, not fetched
    append(imap, "Support", mail(1), mail(2))  # 1 came back unseen: deduplicated
    second = await start_app(config)
    assert await wait_cases(second, 2) == ["Question 1", "Question 2"]
    assert any("UIDVALIDITY changed" in record.msg for record in poller_log.records)
    assert flags_in(imap, "Support") == [True, True, True]
    assert await subjects(second) == ["Question 1", "Question 2"]


async def test_each_mail_gets_an_id_in_every_line_logged_while_storing_it(
    imap: ImapServer, tmp_path: Path, start_app: Any, captured: Callable[[], list[str]]
) -> None:
    logs.configure(Telemetry(log_format="json", log_level="debug"))
    append(imap, "INBOX", mail(1), mail(2))
    client = await start_app(box_config(tmp_path, imap.port))
    await wait_cases(client, 2)
    lines = json_lines(captured())
    poller = [line for line in lines if line["logger"] == POLLER_LOG]
    ids = [line["request_id"] for line in poller if "stored" in line["msg"]]
    assert len(ids) == len(set(ids)) == 2 and all(len(rid) == 16 for rid in ids)
    for n, rid in enumerate(ids, start=1):
        mine = [line for line in lines if line.get("request_id") == rid]
        (intake,) = [line for line in mine if line["logger"] == "gateway.intake"]
        assert f"email:q{n}.imap-test@client.example.org " in intake["msg"]  # that mail's line
    (login,) = [line for line in poller if "logged in" in line["msg"]]
    assert "request_id" not in login  # the poller's own lines belong to no mail


def flood() -> bytes:
    """A mail the parser refuses to walk (too many nested multiparts): kept as its raw bytes."""
    nested = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" * 200
    return b"From: Flood <flood@example.org>\r\nSubject: Flood\r\n" + nested + b"x\r\n"


def server_bytes(server: ImapServer, folder: str) -> list[bytes]:
    client = server.client()
    client.select_folder(folder, readonly=True)
    found = client.fetch(client.search(["ALL"]), ["BODY.PEEK[]"])
    client.logout()
    return [bytes(found[uid][b"BODY[]"]) for uid in sorted(found)]


async def test_unparseable_mail_is_kept_and_never_stops_the_batch(
    imap: ImapServer, tmp_path: Path, start_app: Any
) -> None:
    garbage = b"\x01\x02 no headers\xff\xfe at all\r\n\r\n\xc3\x28 body"
    append(imap, "INBOX", garbage, flood(), mail(1))
    as_stored = server_bytes(imap, "INBOX")  # Dovecot rewrites NUL and bare-LF bytes on APPEND
    client = await start_app(box_config(tmp_path, imap.port))
    assert "Question 1" in await wait_cases(client, 3)  # the mail after them is not held up
    cases = [await (await client.get(f"/api/cases/{n}", headers=ADMIN)).json() for n in (1, 2)]
    (first,), (second,) = cases[0]["timeline"], cases[1]["timeline"]
    assert first["text"].startswith("\x01\x02 no headers")
    assert [a["name"] for a in second["attachments"]] == ["message.eml"]
    eml = await client.get(second["attachments"][0]["url"], headers=ADMIN)
    assert await eml.read() == as_stored[1]
    assert flags_in(imap, "INBOX") == [True, True, True]


async def test_dropped_connection_mid_batch_recovers_all_stored_once(
    imap: ImapServer, tmp_path: Path, start_app: Any, poller_log: pytest.LogCaptureFixture
) -> None:
    body = "The parcel went missing. " * 800  # ~20 KB each: one batch of 20 is ~400 KB
    append(imap, "INBOX", *(mail(n, body) for n in range(30)))
    proxy = CuttingProxy(imap.port, cut_after=500_000)  # inside the second batch's FETCH
    await proxy.start()
    client = await start_app(box_config(tmp_path, proxy.port))
    assert len(await wait_cases(client, 30)) == 30
    assert proxy.cut and proxy.connections >= 2  # it was cut, and the poller came back
    uids = stored_uids(poller_log)
    assert len(uids) == len(set(uids)) == 30
    assert flags_in(imap, "INBOX") == [True] * 30
    await proxy.stop()


async def test_two_gateways_one_poller(
    imap: ImapServer, tmp_path: Path, start_app: Any, poller_log: pytest.LogCaptureFixture
) -> None:
    proxy = CuttingProxy(imap.port)  # counts the pollers' connections
    await proxy.start()
    config = box_config(tmp_path, proxy.port)
    first, second = await start_app(config), await start_app(config)
    append(imap, "INBOX", mail(1), mail(2), mail(3))
    await wait_cases(first, 3)
    assert await subjects(second) == ["Question 1", "Question 2", "Question 3"]
    assert proxy.connections == 1  # only the lease holder logged in
    uids = stored_uids(poller_log)
    assert len(uids) == len(set(uids)) == 3
    await proxy.stop()


async def test_seen_only_after_the_mail_is_stored(
    imap: ImapServer, tmp_path: Path, start_app: Any, poller_log: pytest.LogCaptureFixture
) -> None:
    valkey = Valkey(tmp_path / "valkey")
    valkey.data_dir.mkdir()
    valkey.start()
    node = redis.Redis.from_url(valkey.url)
    client = await start_app(box_config(tmp_path, imap.port), valkey.url)
    append(imap, "INBOX", mail(1))
    await wait_cases(client, 1)
    # a failover under way: the node became a replica, reads work and every write fails
    node.replicaof("127.0.0.1", free_port())
    append(imap, "INBOX", mail(2))

    async def refused() -> bool:
        return any("storage unavailable" in r.msg for r in poller_log.records)

    await eventually(refused, "the poller to fail storing mail 2")
    assert flags_in(imap, "INBOX") == [True, False]  # not stored, so not seen
    node.replicaof("NO", "ONE")
    assert await wait_cases(client, 2) == ["Question 1", "Question 2"]

    async def seen() -> bool:
        return flags_in(imap, "INBOX") == [True, True]

    await eventually(seen, "the stored mail to be marked seen")
    await client.close()
    node.close()
    valkey.stop()


async def test_processed_folder_gets_the_stored_mail(
    imap: ImapServer, tmp_path: Path, start_app: Any
) -> None:
    client = await start_app(box_config(tmp_path, imap.port, processed="Processed"))
    append(imap, "INBOX", mail(1), mail(2))
    await wait_cases(client, 2)

    async def moved() -> bool:
        return flags_in(imap, "INBOX") == [] and flags_in(imap, "Processed") == [True, True]

    await eventually(moved, "both mails moved to Processed, seen")


async def test_mail_over_the_size_limit_is_left_unseen_and_the_rest_stored(
    imap: ImapServer, tmp_path: Path, start_app: Any
) -> None:
    append(imap, "INBOX", mail(1, "x" * 30_000), mail(2))
    client = await start_app(box_config(tmp_path, imap.port, max_bytes=20_000))
    assert await wait_cases(client, 1) == ["Question 2"]

    async def marked() -> bool:
        return flags_in(imap, "INBOX") == [False, True]

    await eventually(marked, "the stored mail seen, the big one untouched")


def test_batches_bound_count_and_bytes() -> None:
    sizes = {1: 10, 2: 10, 3: 50, 4: 10, 5: 10, 6: 10}
    assert list(batches([1, 2, 3, 4, 5, 6], sizes, count=2, budget=30)) == [
        [1, 2], [3], [4, 5], [6],
    ]  # fmt: skip
    assert list(batches([1, 2, 3], sizes, count=20, budget=1000)) == [[1, 2, 3]]


async def test_without_idle_the_folder_is_polled(
    imap: ImapServer, tmp_path: Path, start_app: Any, poller_log: pytest.LogCaptureFixture
) -> None:
    proxy = CuttingProxy(imap.port, hide_idle=True)
    await proxy.start()
    client = await start_app(box_config(tmp_path, proxy.port))  # poll_interval = "1s"
    append(imap, "INBOX", mail(1))
    await wait_cases(client, 1)
    append(imap, "INBOX", mail(2))
    assert await wait_cases(client, 2) == ["Question 1", "Question 2"]
    assert any("polling every 1s" in record.getMessage() for record in poller_log.records)
    await proxy.stop()


def test_starttls_needs_a_plain_connection(tmp_path: Path) -> None:
    text = SAMPLE.read_text() + MAILBOX.format(
        port=143, user=USER, password=PASSWORD, folder="INBOX", processed=""
    ).replace("tls = false", "tls = true\nstarttls = true")
    path = tmp_path / "both.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(str(path), env={})
    assert any("starttls" in problem for problem in raised.value.problems)
