"""Twilio's delivery status callbacks for SMS replies: the reply is sent through the loopback
Messages API with a StatusCallback, and the reports for the SID it answered, signed by Twilio's
own RequestValidator, move the entry's `delivery` (one step each, never backwards)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from gateway.config import Config
from gateway.http.app import build_app
from routing.keys import Keys
from tests.conftest import SAMPLE
from tests.outbound_servers import TwilioApi, start_twilio_api
from tests.rq_jobs import queued, run_jobs
from tests.test_channel_registry import PUBLIC, TOKEN
from tests.test_outbox import entry_of, reply
from tests.test_twilio_replies import ACCOUNT, twilio_case
from worker.jobs import context

STATUS = "/hooks/twilio/sms/status"


@pytest.fixture
def twilio_api() -> Iterator[TwilioApi]:
    yield from start_twilio_api(ACCOUNT, TOKEN)


@pytest.fixture
async def gateway(
    aiohttp_client: Any, write_config: Any, redis_url: str, keys: Keys, twilio_api: TwilioApi,
    queue_name: str,
) -> TestClient:  # fmt: skip
    text = SAMPLE.read_text().replace("https://api.twilio.com", twilio_api.api_base)
    config: Config = write_config(text.replace("status_callback = false", "status_callback = true"))
    context.use(config)
    client: TestClient = await aiohttp_client(build_app(config, redis_url, keys, queue=queue_name))
    return client


def report(sid: str, status: str, code: str = "") -> dict[str, Any]:
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT, "MessageStatus": status,
              "From": "+74950000000", "To": "+79161234567", "ApiVersion": "2010-04-01"}  # fmt: skip
    if code:
        params["ErrorCode"] = code
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + STATUS, params)
    headers = {"X-Twilio-Signature": str(signature),
               "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
    return {"data": urlencode(params).encode(), "headers": headers}


async def post(client: TestClient, request: dict[str, Any], expect: int = 200) -> str:
    response = await client.post(STATUS, **request)
    body = await response.text()
    assert response.status == expect, body
    return body


async def sent_reply(
    client: TestClient, api: TwilioApi, sync_redis: redis.Redis, queue_name: str
) -> tuple[int, str, str]:
    """A Twilio case's reply, sent by a real job: (case id, entry id, the SID Twilio gave)."""
    case_id = await twilio_case(client)
    entry_id = await reply(client, case_id, "On its way.")
    await queued(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)
    [form] = api.received
    assert form["StatusCallback"] == PUBLIC + STATUS
    entry = await entry_of(client, case_id, entry_id)
    assert entry["delivery"] == "sent"
    return case_id, entry_id, entry["provider_id"]


async def test_reports_move_delivery_forward_once(
    gateway: TestClient, twilio_api: TwilioApi, sync_redis: redis.Redis, queue_name: str
) -> None:
    case_id, entry_id, sid = await sent_reply(gateway, twilio_api, sync_redis, queue_name)

    assert (await post(gateway, report(sid, "sent"))).endswith("<Response/>")
    assert (await entry_of(gateway, case_id, entry_id))["provider_status"] == "sent"
    await post(gateway, report(sid, "undelivered", "30003"))
    failed = await entry_of(gateway, case_id, entry_id)
    assert (failed["delivery"], failed["provider_status"]) == ("failed", "undelivered")
    assert failed["delivery_error"] == "Twilio reported undelivered, error 30003"

    for late in ("undelivered", "sending", "sent", "delivered"):  # repeats, late, out of order
        await post(gateway, report(sid, late, "30003"))
    assert await entry_of(gateway, case_id, entry_id) == failed


async def test_delivered_keeps_sent_and_a_repeat_changes_nothing(
    gateway: TestClient, twilio_api: TwilioApi, sync_redis: redis.Redis, queue_name: str
) -> None:
    case_id, entry_id, sid = await sent_reply(gateway, twilio_api, sync_redis, queue_name)
    await post(gateway, report(sid, "delivered"))
    once = await entry_of(gateway, case_id, entry_id)
    await post(gateway, report(sid, "delivered"))
    assert await entry_of(gateway, case_id, entry_id) == once
    assert (once["delivery"], once["provider_status"]) == ("sent", "delivered")
    assert "delivery_error" not in once


async def test_unknown_sids_bad_fields_and_signatures_store_nothing(
    gateway: TestClient, twilio_api: TwilioApi, sync_redis: redis.Redis, queue_name: str,
    keys: Keys,
) -> None:  # fmt: skip
    case_id, _, sid = await sent_reply(gateway, twilio_api, sync_redis, queue_name)
    before = sync_redis.hgetall(keys.deliveries(case_id))
    unknown = await post(gateway, report("SM" + "9" * 32, "failed", "30005"))
    assert unknown.endswith("<Response/>")  # 200: Twilio must not retry it forever
    assert "invalid_field" in await post(gateway, report(sid, "exploded"), 422)
    assert "ErrorCode" in await post(gateway, report(sid, "failed", "x1"), 422)
    forged = report(sid, "failed", "30005")
    forged["headers"]["X-Twilio-Signature"] = "bm90IGEgc2lnbmF0dXJl"
    await post(gateway, forged, 401)
    assert sync_redis.hgetall(keys.deliveries(case_id)) == before
