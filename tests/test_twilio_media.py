"""An MMS through the Twilio webhook: the message is stored at once, its media are fetched by a
worker job (the outbox feeder enqueues it, a burst RQ worker runs it) from a loopback server
behind Twilio's basic auth, into the blob store, and attached to the message, once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient
from rq import Queue

from gateway.config import Config
from gateway.http.app import build_app
from gateway.outbound import MEDIA_JOB
from routing.keys import Keys
from tests.conftest import ADMIN, SAMPLE
from tests.outbound_servers import TwilioMedia, start_twilio_media
from tests.rq_jobs import queued, run_jobs
from tests.test_channel_registry import PARAMS, TARGET, twilio_post
from tests.test_outbox import case_of
from worker.jobs import context

ACCOUNT, TOKEN = "ACsample", "sample-twilio-token"  # the sample config's [channels.twilio]
PHOTO, NOTE = (b"\xff\xd8\xff\xe0 a photo", "image/jpeg"), (b"see the photo", "text/plain")


@pytest.fixture
def twilio_media() -> Iterator[TwilioMedia]:
    yield from start_twilio_media(ACCOUNT, TOKEN)


@pytest.fixture
async def gateway(
    aiohttp_client: Any,
    write_config: Any,
    redis_url: str,
    keys: Keys,
    twilio_media: TwilioMedia,
    queue_name: str,
) -> TestClient:
    config: Config = write_config(
        SAMPLE.read_text().replace("https://api.twilio.com", twilio_media.api_base)
    )
    context.use(config)  # what `python -m worker` does at start
    client: TestClient = await aiohttp_client(build_app(config, redis_url, keys, queue=queue_name))
    return client


async def only_case_message(client: TestClient) -> dict[str, Any]:
    """The one message of the one case there is."""
    [case] = (await (await client.get("/api/cases", headers=ADMIN)).json())["cases"]
    timeline = (await case_of(client, case["id"]))["timeline"]
    [entry] = [e for e in timeline if e["kind"] == "message"]
    return {**entry, "case_id": case["id"]}


def mms(media: TwilioMedia, message: str) -> dict[str, str]:
    params = {**PARAMS, "MessageSid": message, "NumMedia": "2"}
    for index, (sid, (_, kind)) in enumerate(media.files.items()):
        url = f"{media.api_base}/2010-04-01/Accounts/{ACCOUNT}/Messages/{message}/Media/{sid}"
        params |= {f"MediaUrl{index}": url, f"MediaContentType{index}": kind}
    return params


async def test_media_are_fetched_into_the_blob_store_and_attached_once(
    gateway: TestClient,
    twilio_media: TwilioMedia,
    sync_redis: redis.Redis,
    queue_name: str,
    keys: Keys,
) -> None:
    twilio_media.files = {"ME" + "1" * 32: PHOTO, "ME" + "2" * 32: NOTE}
    message = "MM" + uuid.uuid4().hex
    response = await gateway.post(TARGET, **twilio_post(mms(twilio_media, message)))
    assert response.status == 200, await response.text()
    stored = await only_case_message(gateway)
    assert stored["text"] == PARAMS["Body"] and not stored.get("attachments")
    assert [kind for _, kind in stored["media"]] == ["image/jpeg", "text/plain"]

    await queued(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)
    entry = await only_case_message(gateway)
    case_id = entry["case_id"]
    assert "media" not in entry and "media_error" not in entry
    attached = entry["attachments"]
    assert [(a["type"], a["size"]) for a in attached] == [
        ("image/jpeg", len(PHOTO[0])),
        ("text/plain", len(NOTE[0])),
    ]
    for found, (data, _) in zip(attached, (PHOTO, NOTE), strict=True):
        got = await gateway.get(found["url"], headers=ADMIN)
        assert got.status == 200 and await got.read() == data
    assert len(twilio_media.asked) == 2

    again = Queue(queue_name, connection=sync_redis).enqueue(
        MEDIA_JOB, keys.prefix, case_id, entry["id"]
    )
    run_jobs(sync_redis, queue_name)
    assert again.latest_result().return_value == 0
    assert (await only_case_message(gateway))["attachments"] == attached


async def test_a_media_url_off_the_api_host_is_never_fetched_and_shows(
    gateway: TestClient, twilio_media: TwilioMedia, sync_redis: redis.Redis, queue_name: str
) -> None:
    twilio_media.files = {"ME" + "3" * 32: PHOTO}
    params = mms(twilio_media, "MM" + uuid.uuid4().hex) | {"NumMedia": "1"}
    elsewhere = params["MediaUrl0"].replace("127.0.0.1", "localhost")
    response = await gateway.post(TARGET, **twilio_post(params | {"MediaUrl0": elsewhere}))
    assert response.status == 200, await response.text()
    await queued(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)

    entry = await only_case_message(gateway)
    assert "not on" in entry["media_error"] and not entry.get("attachments")
    assert "media" not in entry and twilio_media.asked == []
