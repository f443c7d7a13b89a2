"""Replies leave through the outbox: one Lua step records them, the feeder makes RQ jobs, a real
RQ worker (burst mode) sends them to a real SMTP relay or SMS API on loopback, once.

The RQ scheduler's part (moving a retry whose backoff is over onto the queue) is done by
`due_retries` with RQ's own registry call, so no test waits out a backoff.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient
from rq import Queue

from channels.email.threading import SubjectTag, message_ids, parse_message_id
from channels.message import InboundMessage
from channels.settings import Secret
from channels.signature import verify
from gateway.config import Config
from gateway.http.app import build_app
from gateway.http.app_keys import RUNTIME
from gateway.outbound import JOB
from gateway.runtime.outbox import GROUP, Feeder
from gateway.runtime.state import Runtime
from routing import timeline
from routing.keys import Keys
from tests.conftest import ADMIN, SAMPLE, signed_sms
from tests.outbound_servers import Relay, SmsProvider
from tests.rq_jobs import due_retries, queued, run_jobs
from worker.jobs import context

CUSTOMER = "olga@example.org"
ANSWERED = "<first-mail-1@mail.example.org>"


@pytest.fixture
def outbox_config(write_config: Any, relay: Relay, sms_provider: SmsProvider) -> Config:
    text = SAMPLE.read_text()
    text = text.replace("port = 2526", f"port = {relay.port}")
    text = text.replace("http://127.0.0.1:9000/send", sms_provider.url)
    config: Config = write_config(text)
    context.use(config)  # what `python -m worker` does at start
    return config


@pytest.fixture
async def app_client(
    aiohttp_client: Any, redis_url: str, keys: Keys, outbox_config: Config, queue_name: str
) -> TestClient:
    """The gateway with its outbox feeder filling this test's queue."""
    client: TestClient = await aiohttp_client(
        build_app(outbox_config, redis_url, keys, queue=queue_name)
    )
    return client


async def email_case(client: TestClient, subject: str = "Re: [Case #77] Broken router") -> int:
    """A customer mail stored by the intake (the SMTP edge lands with the e-mail issue)."""
    runtime: Runtime = client.server.app[RUNTIME]
    msg = InboundMessage(
        channel="email",
        dedupe_scope="email",
        delivery_id=ANSWERED,
        sender_email=CUSTOMER,
        sender_name="Olga",
        to="support@example.com",
        subject=subject,
        text="My router is broken.",
    )
    result = await runtime.intake.submit(runtime.config, msg)
    return result.case_id


async def note_message_id(runtime: Runtime, case_id: int, message_id: str) -> None:
    """The entry the e-mail intake writes with the customer mail's Message-ID (that intake
    lands on another branch; until then the entry is appended with the codec it will use)."""
    entry_id = await runtime.redis.hincrby(runtime.keys.case(case_id), "ne", 1)
    entry = timeline.stored(
        id=str(entry_id),
        at=int(time.time() * 1000),
        kind="message",
        direction="in",
        from_=CUSTOMER,
        text="More details.",
        message_id=message_id,
    )
    await runtime.redis.rpush(runtime.keys.timeline(case_id), json.dumps(entry))


async def case_of(client: TestClient, case_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/cases/{case_id}", headers=ADMIN)
    assert response.status == 200, await response.text()
    found: dict[str, Any] = await response.json()
    return found


async def entry_of(client: TestClient, case_id: int, entry_id: str) -> dict[str, Any]:
    case = await case_of(client, case_id)
    return next(e for e in case["timeline"] if e["id"] == entry_id)


async def reply(client: TestClient, case_id: int, text: str = "We are on it.") -> str:
    response = await client.post(f"/api/cases/{case_id}/reply", json={"text": text}, headers=ADMIN)
    assert response.status == 202, await response.text()
    body = await response.json()
    assert body["case_id"] == case_id and body["delivery"] == "queued"
    entry_id: str = body["entry_id"]
    return entry_id


async def test_a_reply_job_carries_the_request_id_of_the_reply(
    app_client: TestClient, sync_redis: redis.Redis, queue_name: str
) -> None:
    """The job logs under it (worker/counted.py); tests/test_logs_serve.py reads those lines."""
    case_id = await email_case(app_client)
    headers = {**ADMIN, "X-Request-Id": "crm-reply-7"}
    response = await app_client.post(f"/api/cases/{case_id}/reply", json={"text": "On it."},
                                     headers=headers)  # fmt: skip
    assert response.status == 202, await response.text()
    await queued(sync_redis, queue_name)
    (job,) = Queue(queue_name, connection=sync_redis).get_jobs()
    assert job.meta["request_id"] == "crm-reply-7"


async def test_an_email_reply_reaches_the_relay_threaded_and_is_recorded_sent(
    app_client: TestClient, relay: Relay, sync_redis: redis.Redis, queue_name: str
) -> None:
    case_id = await email_case(app_client)
    await note_message_id(app_client.server.app[RUNTIME], case_id, ANSWERED)
    entry_id = await reply(app_client, case_id, "We are on it, Olga.")
    entry = await entry_of(app_client, case_id, entry_id)
    assert entry["kind"] == "message" and entry["direction"] == "out"
    assert entry["channel"] == "email" and entry["to"] == CUSTOMER
    assert entry["delivery"] == "queued" and entry["by"] == "admin"

    await queued(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)

    [mail] = relay.received
    subject = mail["Subject"]
    assert subject == f"Re: [Case #{case_id}] Broken router"
    assert subject.count("[Case #") == 1 and SubjectTag("[Case #{id}]").find(subject) == case_id
    assert parse_message_id(mail["Message-ID"], ["example.com"]) == (case_id, entry_id)
    assert message_ids(mail["In-Reply-To"]) == (ANSWERED.strip("<>"),)
    assert ANSWERED.strip("<>") in message_ids(mail["References"])
    assert mail["To"] == CUSTOMER and mail["X-Envelope-To"] == CUSTOMER
    assert "support@example.com" in mail["From"]
    assert mail.get_content().strip() == "We are on it, Olga."
    sent = await entry_of(app_client, case_id, entry_id)
    assert sent["delivery"] == "sent" and sent["attempts"] == 1
    assert sent["provider_id"] == mail["Message-ID"] and "delivery_error" not in sent


async def test_every_timeline_entry_has_an_id_unique_within_its_case(
    app_client: TestClient,
) -> None:
    case_id = await email_case(app_client)
    note = await app_client.post(f"/api/cases/{case_id}/note", json={"text": "n"}, headers=ADMIN)
    assert note.status == 201, await note.text()
    await reply(app_client, case_id)
    ids = [entry["id"] for entry in (await case_of(app_client, case_id))["timeline"]]
    assert len(ids) >= 3 and len(set(ids)) == len(ids)
    assert all(isinstance(i, str) and i for i in ids)
    again = [entry["id"] for entry in (await case_of(app_client, case_id))["timeline"]]
    assert again == ids


async def test_a_4xx_from_the_relay_retries_then_sends(
    app_client: TestClient, relay: Relay, sync_redis: redis.Redis, queue_name: str
) -> None:
    relay.answers.append("451 4.3.0 Try again later")
    case_id = await email_case(app_client)
    entry_id = await reply(app_client, case_id)
    await queued(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)

    assert relay.received == [] and relay.refused == ["451 4.3.0 Try again later"]
    waiting = await entry_of(app_client, case_id, entry_id)
    assert waiting["delivery"] == "retrying" and "451" in waiting["delivery_error"]
    assert len(due_retries(sync_redis, queue_name)) == 1
    run_jobs(sync_redis, queue_name)

    assert len(relay.received) == 1
    sent = await entry_of(app_client, case_id, entry_id)
    assert sent["delivery"] == "sent" and sent["attempts"] == 2
    assert due_retries(sync_redis, queue_name) == []


async def test_a_5xx_from_the_relay_fails_and_shows_the_reason(
    app_client: TestClient, relay: Relay, sync_redis: redis.Redis, queue_name: str
) -> None:
    relay.answers.append("550 5.1.1 Mailbox unavailable")
    case_id = await email_case(app_client)
    entry_id = await reply(app_client, case_id)
    await queued(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)

    failed = await entry_of(app_client, case_id, entry_id)
    assert failed["delivery"] == "failed"
    assert "550" in failed["delivery_error"] and "Mailbox unavailable" in failed["delivery_error"]
    assert due_retries(sync_redis, queue_name) == [] and relay.received == []


async def test_the_same_job_run_twice_sends_once(
    app_client: TestClient, relay: Relay, sync_redis: redis.Redis, queue_name: str, keys: Keys
) -> None:
    case_id = await email_case(app_client)
    entry_id = await reply(app_client, case_id)
    await queued(sync_redis, queue_name)
    queue = Queue(queue_name, connection=sync_redis)
    copy = queue.enqueue(JOB, keys.prefix, case_id, entry_id, job_id=f"copy-{uuid.uuid4().hex}")
    run_jobs(sync_redis, queue_name)

    assert len(relay.received) == 1
    assert copy.latest_result().return_value == "skipped: sent"
    later = queue.enqueue(JOB, keys.prefix, case_id, entry_id)
    run_jobs(sync_redis, queue_name)
    assert later.latest_result().return_value == "skipped: sent" and len(relay.received) == 1
    assert (await entry_of(app_client, case_id, entry_id))["attempts"] == 1


async def sms_case(client: TestClient, phone: str = "+79161234567") -> int:
    sms = {"id": uuid.uuid4().hex, "from": phone, "to": "+74950000099", "text": "Hello"}
    response = await client.post("/hooks/sms", **signed_sms(sms))
    assert response.status == 200, await response.text()
    case_id: int = (await response.json())["case_id"]
    return case_id


def assert_signed(provider: SmsProvider) -> list[dict[str, Any]]:
    bodies = []
    for headers, body in provider.received:
        verify(Secret("sample-sms-secret"), headers.get("X-Intake-Signature"), body)
        bodies.append(json.loads(body))
    return bodies


async def test_an_sms_reply_is_posted_signed_retried_after_503_and_sent_once(
    app_client: TestClient, sms_provider: SmsProvider, sync_redis: redis.Redis, queue_name: str
) -> None:
    sms_provider.answers.append(503)
    case_id = await sms_case(app_client)
    entry_id = await reply(app_client, case_id, "Your SIM is on its way.")
    await queued(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)
    waiting = await entry_of(app_client, case_id, entry_id)
    assert waiting["delivery"] == "retrying" and "503" in waiting["delivery_error"]

    assert len(due_retries(sync_redis, queue_name)) == 1
    run_jobs(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)

    first, second = assert_signed(sms_provider)
    expected = {
        "id": f"{case_id}-{entry_id}",
        "to": "+79161234567",
        "text": "Your SIM is on its way.",
    }
    assert first == second == expected
    sent = await entry_of(app_client, case_id, entry_id)
    assert sent["delivery"] == "sent" and sent["provider_id"] == f"prov-{case_id}-{entry_id}"
    assert sent["attempts"] == 2


async def test_an_sms_reply_refused_with_400_fails_without_retry(
    app_client: TestClient, sms_provider: SmsProvider, sync_redis: redis.Redis, queue_name: str
) -> None:
    sms_provider.answers.append(400)
    case_id = await sms_case(app_client)
    entry_id = await reply(app_client, case_id)
    await queued(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)

    failed = await entry_of(app_client, case_id, entry_id)
    assert failed["delivery"] == "failed" and "HTTP 400" in failed["delivery_error"]
    assert due_retries(sync_redis, queue_name) == [] and len(assert_signed(sms_provider)) == 1


@pytest.fixture
async def runtime(redis_url: str, keys: Keys, outbox_config: Config) -> Any:
    """The gateway's state without its app: no feeder runs but the tests' own."""
    client = aioredis.Redis.from_url(redis_url)
    found = Runtime.create(outbox_config, client, keys)
    await found.scripts.load()
    yield found
    await client.aclose()


async def sms_reply(runtime: Runtime) -> tuple[int, str]:
    msg = InboundMessage(
        channel="sms",
        dedupe_scope="sms",
        delivery_id=uuid.uuid4().hex,
        sender_phone="+79160000001",
        text="hi",
        threading="sms",
    )
    case_id = (await runtime.intake.submit(runtime.config, msg)).case_id
    found = await runtime.scripts.reply(int(time.time() * 1000), case_id, "", "ok", ("sms",))
    return case_id, found["id"]


async def test_an_outbox_entry_fed_twice_and_by_two_feeders_is_one_job(
    runtime: Runtime,
    sms_provider: SmsProvider,
    sync_redis: redis.Redis,
    queue_name: str,
) -> None:
    case_id, entry_id = await sms_reply(runtime)
    await runtime.redis.xadd(runtime.keys.outbox, {"case": case_id, "entry": entry_id})
    feeders = [Feeder(runtime.redis, runtime.keys, sync_redis, queue_name) for _ in range(2)]
    handled = await asyncio.gather(*(feeder.feed_once(None) for feeder in feeders))

    assert sum(handled) == 2 and Queue(queue_name, connection=sync_redis).count == 1
    assert await runtime.redis.xlen(runtime.keys.outbox) == 0
    run_jobs(sync_redis, queue_name)
    assert len(sms_provider.received) == 1


async def test_entries_a_dead_feeder_read_are_taken_over(
    runtime: Runtime, sms_provider: SmsProvider, sync_redis: redis.Redis, queue_name: str
) -> None:
    feeder = Feeder(runtime.redis, runtime.keys, sync_redis, queue_name, stuck_ms=0)
    assert await feeder.feed_once(None) == 0  # no reply yet: no stream, no group
    await sms_reply(runtime)
    read = await runtime.redis.xreadgroup(GROUP, "dead", {runtime.keys.outbox: ">"}, count=10)
    assert len(read[0][1]) == 1  # read, never acknowledged: that feeder died

    assert await feeder.feed_once(None) == 1
    pending = await runtime.redis.xpending(runtime.keys.outbox, GROUP)
    assert pending["pending"] == 0 and Queue(queue_name, connection=sync_redis).count == 1
    run_jobs(sync_redis, queue_name)
    assert len(sms_provider.received) == 1


async def test_refused_replies_write_nothing(app_client: TestClient, keys: Keys) -> None:
    runtime: Runtime = app_client.server.app[RUNTIME]
    manual = await app_client.post(
        "/api/cases", json={"contact": {"phone": "+79160000002"}, "text": "call me"}, headers=ADMIN
    )
    assert manual.status == 201, await manual.text()
    phone_case = (await manual.json())["id"]
    mail_case = await email_case(app_client)
    anna = {"Authorization": "Bearer sample-token-anna"}
    cases = [
        (phone_case, {"text": "x"}, ADMIN, 409, "no_outbound_channel"),
        (mail_case, {"text": "x"}, anna, 403, "not_yours"),
        (mail_case, {"text": 5}, ADMIN, 422, "invalid_field"),
        (mail_case, {"text": "a\x00b"}, ADMIN, 422, "invalid_field"),
        (mail_case, {"text": "   "}, ADMIN, 422, "invalid_field"),
        (999_999, {"text": "x"}, ADMIN, 404, "case_not_found"),
    ]
    before = {cid: (await case_of(app_client, cid))["timeline"] for cid in (phone_case, mail_case)}
    for case_id, body, headers, status, code in cases:
        response = await app_client.post(f"/api/cases/{case_id}/reply", json=body, headers=headers)
        assert response.status == status, (case_id, body, await response.text())
        assert (await response.json())["error"]["code"] == code
    resolved = await app_client.post(f"/api/cases/{mail_case}/resolve", headers=ADMIN)
    assert resolved.status == 200, await resolved.text()
    before[mail_case] = (await case_of(app_client, mail_case))["timeline"]
    late = await app_client.post(f"/api/cases/{mail_case}/reply", json={"text": "x"}, headers=ADMIN)
    assert late.status == 409 and (await late.json())["error"]["code"] == "already_resolved"
    for case_id, timeline_before in before.items():
        assert (await case_of(app_client, case_id))["timeline"] == timeline_before
    assert await runtime.redis.xlen(keys.outbox) == 0


async def test_a_note_on_a_missing_case_is_404_and_writes_nothing(
    app_client: TestClient, keys: Keys
) -> None:
    response = await app_client.post("/api/cases/424242/note", json={"text": "x"}, headers=ADMIN)
    assert response.status == 404 and (await response.json())["error"]["code"] == "case_not_found"
    runtime: Runtime = app_client.server.app[RUNTIME]
    assert await runtime.redis.exists(keys.timeline(424242), keys.case(424242)) == 0


def test_the_codec_refuses_names_it_does_not_know() -> None:
    with pytest.raises(KeyError):
        timeline.stored(kind="note", txt="typo")
    entry = timeline.stored(kind="status", status="resolved", by="anna")
    assert timeline.api(entry) == {"kind": "status", "status": "resolved", "by": "anna"}
    mail = timeline.stored(kind="message", subject="Hi", from_="a@b.c")
    assert timeline.api(mail) == {"kind": "message", "subject": "Hi", "from": "a@b.c"}
