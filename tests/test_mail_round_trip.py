"""A whole e-mail conversation through real servers: a customer's mail in through the gateway's
SMTP server, the operator's reply out through the outbox job to a relay on loopback, and the
customer's answers to that reply (by the subject's `Re:` and by `References` alone) back in
the same case."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.http.app import build_app
from gateway.smtp.lifecycle import smtp_ctx
from routing.keys import Keys
from tests.helpers import free_port
from tests.outbound_servers import Relay
from tests.rq_jobs import queued, run_jobs
from tests.smtp_helpers import all_cases, mail, messages, send
from tests.test_outbox import outbox_config, reply

__all__ = ["outbox_config"]  # a fixture of test_outbox


@pytest.fixture
async def mail_gateway(
    aiohttp_client: Any, redis_url: str, keys: Keys, outbox_config: Config, queue_name: str
) -> tuple[TestClient, int]:
    port = free_port()
    config = dataclasses.replace(outbox_config, smtp=("127.0.0.1", port))
    app = build_app(config, redis_url, keys, queue=queue_name)
    app.cleanup_ctx.append(smtp_ctx)
    client: TestClient = await aiohttp_client(app)
    return client, port


async def test_customer_mail_reply_and_the_answers_to_it_stay_one_case(
    mail_gateway: tuple[TestClient, int],
    relay: Relay,
    sync_redis: redis.Redis,
    queue_name: str,
) -> None:
    client, port = mail_gateway
    await send(port, mail("My printer is on fire", message_id="<first@client.example.org>"))
    (case,) = await all_cases(client)
    await reply(client, case["id"], "Please unplug it.")
    await queued(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)
    [sent] = relay.received
    assert sent["In-Reply-To"] == "<first@client.example.org>"

    answer = mail(
        "Unplugged, still smoking",
        subject="Re: " + sent["Subject"],  # what a mail client writes
        message_id="<second@client.example.org>",
        In_Reply_To=sent["Message-ID"],
        References=f"<first@client.example.org> {sent['Message-ID']}",
    )
    await send(port, answer)
    only_references = mail(
        "It stopped now",
        subject="printer",  # no tag left: only the header names our reply
        message_id="<third@client.example.org>",
        References=sent["Message-ID"],
    )
    await send(port, only_references)

    (same,) = await all_cases(client)
    assert same["id"] == case["id"] and "foreign_case_reference" not in same["flags"]
    texts = [entry.get("text", "").strip() for entry in messages(same)]  # the customer's
    assert texts == ["My printer is on fire", "Unplugged, still smoking", "It stopped now"]
    (out,) = [e for e in same["timeline"] if e["kind"] == "message" and e["direction"] == "out"]
    assert (out["text"], out["delivery"]) == ("Please unplug it.", "sent")
