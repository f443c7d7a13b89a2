"""The acknowledgement decision of a received mail (service `ack = true`): only a person's mail
that opens a case, never to the gateway's own addresses, at most a few per sender and hour.

Sending it is the outbox's job; here the intake step's verdict (`IntakeResult.ack`) is checked
against a real Valkey through `deliver_mail`, as the SMTP and IMAP edges call it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from gateway.config import Config
from gateway.intake import ACKS_PER_SENDER_HOUR, IntakeResult
from gateway.mail import deliver_mail
from gateway.runtime.state import Runtime
from routing import sync
from routing.keys import Keys
from tests.smtp_helpers import mail, wire

BILLING = ("billing@example.com",)  # the sample's billing service acknowledges


@pytest.fixture
async def runtime(redis_url: str, keys: Keys, config: Config) -> AsyncIterator[Runtime]:
    client = aioredis.Redis.from_url(redis_url)
    found = Runtime.create(config, client, keys)
    await found.scripts.load()
    await sync.apply(found.scripts, config.routing, config.version)
    yield found
    await client.aclose()


async def deliver(runtime: Runtime, raw: bytes, to: tuple[str, ...] = BILLING) -> IntakeResult:
    result = await deliver_mail(runtime.intake, runtime.config, raw, "x@example.org", to)
    assert result is not None
    return result


async def test_a_new_case_is_acknowledged_its_replies_are_not(runtime: Runtime) -> None:
    first = await deliver(runtime, wire(mail("invoice?", to=BILLING[0])))
    assert first.ack
    again = await deliver(runtime, wire(mail("more", subject=f"Re: [Case #{first.case_id}]")))
    assert (again.case_id, again.ack) == (first.case_id, False)


async def test_services_without_ack_and_list_mail_and_own_addresses_get_none(
    runtime: Runtime,
) -> None:
    assert not (await deliver(runtime, wire(mail()), ("support@example.com",))).ack
    assert not (await deliver(runtime, wire(mail(Precedence="list")))).ack
    own = mail(sender="support@example.com")
    assert not (await deliver(runtime, wire(own))).ack


async def test_at_most_a_few_per_sender_and_hour(runtime: Runtime) -> None:
    acks = [
        (await deliver(runtime, wire(mail(f"new {n}", subject=f"Topic {n}")))).ack
        for n in range(ACKS_PER_SENDER_HOUR + 2)
    ]
    assert acks == [True] * ACKS_PER_SENDER_HOUR + [False, False]
    other = await deliver(runtime, wire(mail("hello", sender="maria@example.org")))
    assert other.ack


async def test_machines_never_get_one(runtime: Runtime) -> None:
    first = await deliver(runtime, wire(mail("invoice?")))
    away = mail("away", subject=f"Re: [Case #{first.case_id}]", Auto_Submitted="auto-replied")
    joined = await deliver(runtime, wire(away))
    assert (joined.case_id, joined.ack) == (first.case_id, False)
