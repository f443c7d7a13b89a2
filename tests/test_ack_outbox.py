"""The acknowledgement of a new e-mail case leaves through the outbox: a mail through the real
SMTP edge to a service with `ack = true`, the outbox feeder, a burst RQ worker, and a loopback
relay that receives it (`Auto-Submitted: auto-replied`, the case tag in the subject)."""

from __future__ import annotations

import dataclasses
from email.message import EmailMessage
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient

from channels.email.threading import SubjectTag
from gateway.config import Config
from gateway.http.app import build_app
from gateway.intake import ACKS_PER_SENDER_HOUR
from gateway.smtp.lifecycle import smtp_ctx
from routing.keys import Keys
from tests.conftest import SAMPLE
from tests.helpers import free_port
from tests.outbound_servers import Relay
from tests.rq_jobs import queued, run_jobs
from tests.smtp_helpers import all_cases, mail, send
from worker.jobs import context

BILLING = ("billing@example.com",)  # the sample's billing service acknowledges


@pytest.fixture
async def edge(
    aiohttp_client: Any,
    write_config: Any,
    relay: Relay,
    redis_url: str,
    keys: Keys,
    queue_name: str,
) -> tuple[TestClient, int]:
    """An acceptor's app (HTTP, SMTP server, outbox feeder) relaying to the loopback relay."""
    config: Config = write_config(SAMPLE.read_text().replace("port = 2526", f"port = {relay.port}"))
    context.use(config)  # what `python -m worker` does at start
    port = free_port()
    config = dataclasses.replace(config, smtp=("127.0.0.1", port))
    app = build_app(config, redis_url, keys, queue=queue_name)
    app.cleanup_ctx.append(smtp_ctx)
    client: TestClient = await aiohttp_client(app)
    return client, port


def outgoing(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every `out` message of these cases: an acknowledgement is recorded before it is sent."""
    entries = [e for case in cases for e in case["timeline"]]
    return [e for e in entries if e["kind"] == "message" and e["direction"] == "out"]


async def acks_after(
    port: int, sync_redis: redis.Redis, queue_name: str, *mails: EmailMessage, jobs: int = 0
) -> None:
    for message in mails:
        await send(port, message, to=BILLING)
    await queued(sync_redis, queue_name, jobs)
    run_jobs(sync_redis, queue_name)


async def test_a_new_case_gets_one_acknowledgement_through_the_relay(
    edge: tuple[TestClient, int], relay: Relay, sync_redis: redis.Redis, queue_name: str
) -> None:
    client, port = edge
    await acks_after(port, sync_redis, queue_name, mail(to=BILLING[0]), jobs=1)
    [case] = await all_cases(client)
    [ack] = relay.received
    assert SubjectTag("[Case #{id}]").find(ack["Subject"]) == case["id"]
    assert ack["Auto-Submitted"] == "auto-replied" and ack["To"] == "ivan@example.org"
    assert f"case number is {case['id']}" in ack.get_content()
    out = [(e["to"], e["auto"], e["delivery"]) for e in outgoing([case])]
    assert out == [("ivan@example.org", True, "sent")]


async def test_auto_replies_bounces_and_answers_get_none(
    edge: tuple[TestClient, int], relay: Relay, sync_redis: redis.Redis, queue_name: str
) -> None:
    client, port = edge
    await acks_after(port, sync_redis, queue_name, mail(to=BILLING[0]), jobs=1)
    [case] = await all_cases(client)
    tag = f"Re: [Case #{case['id']}] Printer"
    away = mail("away", to=BILLING[0], subject=tag, Auto_Submitted="auto-replied")
    bounce = mail("undeliverable", sender="MAILER-DAEMON@example.org", to=BILLING[0])
    answer = mail("more", to=BILLING[0], subject=tag)
    await acks_after(port, sync_redis, queue_name, away, bounce, answer)
    cases = await all_cases(client)
    assert len(cases) == 1 and len(outgoing(cases)) == 1 and len(relay.received) == 1


async def test_a_sender_gets_at_most_three_an_hour(
    edge: tuple[TestClient, int], relay: Relay, sync_redis: redis.Redis, queue_name: str
) -> None:
    client, port = edge
    assert ACKS_PER_SENDER_HOUR == 3
    topics = [mail(f"new {n}", to=BILLING[0], subject=f"Topic {n}") for n in range(4)]
    await acks_after(port, sync_redis, queue_name, *topics, jobs=3)
    cases = await all_cases(client)
    assert len(cases) == 4 and [len(outgoing([c])) for c in cases] == [1, 1, 1, 0]
    assert len(relay.received) == 3
    assert {m["To"] for m in relay.received} == {"ivan@example.org"}
