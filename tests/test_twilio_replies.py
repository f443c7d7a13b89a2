"""A reply on an SMS case goes out by the provider the case came in by: a Twilio case through
Twilio's Messages API (a real loopback server checking basic auth and the form, run by a burst
RQ worker), from the number the customer wrote to; a generic-SMS case to `outbound_url`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.http.app import build_app
from routing.keys import Keys
from tests.conftest import ADMIN, SAMPLE
from tests.outbound_servers import SmsProvider, TwilioApi, start_twilio_api
from tests.rq_jobs import due_retries, queued, run_jobs
from tests.test_channel_registry import PARAMS, TARGET, twilio_post
from tests.test_outbox import entry_of, reply, sms_case
from worker.jobs import context

ACCOUNT, TOKEN = "ACsample", "sample-twilio-token"  # the sample config's [channels.twilio]


@pytest.fixture
def twilio_api() -> Iterator[TwilioApi]:
    yield from start_twilio_api(ACCOUNT, TOKEN)


@pytest.fixture
async def gateway(
    aiohttp_client: Any,
    write_config: Any,
    redis_url: str,
    keys: Keys,
    twilio_api: TwilioApi,
    sms_provider: SmsProvider,
    queue_name: str,
) -> TestClient:
    text = SAMPLE.read_text().replace("https://api.twilio.com", twilio_api.api_base)
    config: Config = write_config(text.replace("http://127.0.0.1:9000/send", sms_provider.url))
    context.use(config)  # what `python -m worker` does at start
    client: TestClient = await aiohttp_client(build_app(config, redis_url, keys, queue=queue_name))
    return client


async def twilio_case(client: TestClient) -> int:
    params = {**PARAMS, "MessageSid": "SM" + uuid.uuid4().hex}
    response = await client.post(TARGET, **twilio_post(params))
    assert response.status == 200, await response.text()
    cases = await (await client.get("/api/cases", headers=ADMIN)).json()
    [case] = cases["cases"]
    case_id: int = case["id"]
    return case_id


SENT = {"To": PARAMS["From"], "From": PARAMS["To"], "Body": "Your SIM is on its way."}


async def test_a_twilio_case_is_answered_through_twilio_once_after_a_503(
    gateway: TestClient,
    twilio_api: TwilioApi,
    sms_provider: SmsProvider,
    sync_redis: redis.Redis,
    queue_name: str,
) -> None:
    twilio_api.answers.append(503)
    case_id = await twilio_case(gateway)
    entry_id = await reply(gateway, case_id, "Your SIM is on its way.")
    await queued(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)
    waiting = await entry_of(gateway, case_id, entry_id)
    assert waiting["delivery"] == "retrying" and "503" in waiting["delivery_error"]

    assert len(due_retries(sync_redis, queue_name)) == 1
    run_jobs(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)

    assert twilio_api.received == [SENT, SENT]  # the 503'd attempt, then the one sent
    sent = await entry_of(gateway, case_id, entry_id)
    assert sent["delivery"] == "sent" and sent["attempts"] == 2
    assert sent["provider_id"] == f"SM{2:032d}" and sms_provider.received == []


async def test_a_400_from_twilio_fails_without_retries_and_shows(
    gateway: TestClient, twilio_api: TwilioApi, sync_redis: redis.Redis, queue_name: str
) -> None:
    twilio_api.answers.append(400)
    case_id = await twilio_case(gateway)
    entry_id = await reply(gateway, case_id)
    await queued(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)

    failed = await entry_of(gateway, case_id, entry_id)
    assert failed["delivery"] == "failed" and "400" in failed["delivery_error"]
    assert due_retries(sync_redis, queue_name) == [] and len(twilio_api.received) == 1


async def test_a_generic_sms_case_still_goes_to_outbound_url(
    gateway: TestClient,
    twilio_api: TwilioApi,
    sms_provider: SmsProvider,
    sync_redis: redis.Redis,
    queue_name: str,
) -> None:
    case_id = await sms_case(gateway)
    entry_id = await reply(gateway, case_id)
    await queued(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)
    assert (await entry_of(gateway, case_id, entry_id))["delivery"] == "sent"
    assert len(sms_provider.received) == 1 and twilio_api.received == []
