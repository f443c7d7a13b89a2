"""The SMTP edge with smtplib against the running server: reply codes, storage down, retries,
several recipients, and acceptor processes sharing the port."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import Config
from routing.keys import Keys
from tests.smtp_helpers import all_cases, mail, messages, send, smtp_app, wire
from tests.test_durability import Valkey


async def start(
    aiohttp_client: Any, config: Config, redis_url: str, keys: Keys
) -> tuple[TestClient, int]:
    app, port = smtp_app(config, redis_url, keys)
    client: TestClient = await aiohttp_client(app)
    return client, port


async def test_250_only_with_the_message_stored(
    aiohttp_client: Any, config: Config, redis_url: str, keys: Keys
) -> None:
    client, port = await start(aiohttp_client, config, redis_url, keys)
    await send(port, mail(message_id="<first@client.example.org>"))
    (case,) = await all_cases(client)
    (entry,) = messages(case)
    assert (case["channel"], case["subject"], case["contact"]["name"]) == (
        "email",
        "Printer",
        "Ivan Petrov",
    )
    assert entry["text"].strip() == "Hello, my printer is on fire"
    assert (entry["from"], entry["to"]) == ("ivan@example.org", "support@example.com")
    assert entry["message_id"] == "first@client.example.org"


async def test_550_for_a_recipient_outside_the_domains(
    aiohttp_client: Any, config: Config, redis_url: str, keys: Keys
) -> None:
    client, port = await start(aiohttp_client, config, redis_url, keys)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await send(port, mail(), to=("someone@elsewhere.org",))
    code, text = refused.value.recipients["someone@elsewhere.org"]
    assert code == 550 and text.startswith(b"5.1.1")
    assert await all_cases(client) == []


async def test_one_bad_recipient_of_two_keeps_the_other(
    aiohttp_client: Any, config: Config, redis_url: str, keys: Keys
) -> None:
    client, port = await start(aiohttp_client, config, redis_url, keys)
    refused = await asyncio.to_thread(
        _sendmail, port, wire(mail()), ["x@elsewhere.org", "support@example.com"]
    )
    assert refused == {"x@elsewhere.org": (550, b"5.1.1 No such recipient here")}
    assert len(await all_cases(client)) == 1


def _sendmail(port: int, raw: bytes, to: list[str]) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        return client.sendmail("ivan@example.org", to, raw)


def small_limit(config: Config, limit: int) -> Config:
    assert config.channels.email is not None
    email = dataclasses.replace(config.channels.email, max_message_bytes=limit)
    return dataclasses.replace(config, channels=dataclasses.replace(config.channels, email=email))


async def test_552_when_announced_by_size_and_when_actually_too_big(
    aiohttp_client: Any, config: Config, redis_url: str, keys: Keys
) -> None:
    client, port = await start(aiohttp_client, small_limit(config, 2000), redis_url, keys)

    def announced() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("size")
            return smtp.mail("ivan@example.org", options=["SIZE=5000"])

    def unannounced() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.helo()  # plain SMTP: no SIZE, the server finds out while reading DATA
            smtp.mail("ivan@example.org")
            smtp.rcpt("support@example.com")
            return smtp.data(wire(mail("many words\n" * 300)))

    for attempt in (announced, unannounced):
        code, text = await asyncio.to_thread(attempt)
        assert code == 552 and text.startswith(b"5.3.4"), attempt
    await send(port, mail("small enough"))
    assert len(await all_cases(client)) == 1


@pytest.fixture
def valkey(tmp_path: Path) -> Iterator[Valkey]:
    server = Valkey(tmp_path)
    server.start()
    yield server
    server.stop()


async def test_redis_stopped_during_data_451_then_the_retry_is_stored_once(
    aiohttp_client: Any, config: Config, valkey: Valkey, keys: Keys
) -> None:
    client, port = await start(aiohttp_client, config, valkey.url, keys)
    raw = wire(mail("sent while storage is down", message_id="<outage@client.example.org>"))

    def during_data() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.ehlo()
            smtp.mail("ivan@example.org")
            smtp.rcpt("support@example.com")
            valkey.stop()  # between RCPT and DATA: the store fails while the data comes in
            return smtp.data(raw)

    code, text = await asyncio.to_thread(during_data)
    assert code == 451 and text.startswith(b"4.3.0")
    valkey.start()
    await retry_until_stored(port, raw)  # as a sending server does, with the same bytes
    await send(port, raw)  # and once more, as if our 250 had been lost
    (case,) = await all_cases(client)
    assert [entry["text"].strip() for entry in messages(case)] == ["sent while storage is down"]


async def retry_until_stored(port: int, raw: bytes, attempts: int = 50) -> None:
    """Pooled connections to the restarted server may fail once each: 451 again, never 5xx."""
    for _ in range(attempts):
        try:
            await send(port, raw)
            return
        except smtplib.SMTPDataError as error:
            assert error.smtp_code == 451, error
        await asyncio.sleep(0.1)
    raise AssertionError("never stored")


async def test_several_recipients_one_message_and_the_first_matching_rule_decides(
    aiohttp_client: Any, config: Config, redis_url: str, keys: Keys
) -> None:
    client, port = await start(aiohttp_client, config, redis_url, keys)
    to = ("support@example.com", "Billing@Example.com", "sales@example.com")
    await send(port, mail(to="support@example.com, billing@example.com"), to=to)
    (case,) = await all_cases(client)
    assert case["service"] == "billing"
    assert [entry["to"] for entry in messages(case)] == ["billing@example.com"]
