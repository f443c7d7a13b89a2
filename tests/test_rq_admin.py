"""RQ as its users know it: jobs named by what they do, with a description and meta, in RQ's
own registries; a job that keeps failing lands in the failed registry, shows in
/api/admin/queues and /metrics, and the admin's retry runs it again (real burst workers)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue
from rq_dashboard.cli import make_flask_app
from rq_dashboard.web import setup_rq_connection

from gateway.config import Config
from gateway.http.app import build_app
from routing.keys import Keys
from tests.conftest import ADMIN, SAMPLE
from tests.outbound_servers import Relay, TwilioMedia, start_twilio_media
from tests.rq_jobs import due_retries, queued, run_jobs
from tests.test_channel_registry import TARGET, twilio_post
from tests.test_outbox import email_case, entry_of, reply
from tests.test_twilio_media import ACCOUNT, PHOTO, TOKEN, mms, only_case_message
from worker.jobs import context

ANNA = {"Authorization": "Bearer sample-token-anna"}
SID = "ME" + "7" * 32  # the MMS media of the failing job


@pytest.fixture
def twilio_media() -> Iterator[TwilioMedia]:
    yield from start_twilio_media(ACCOUNT, TOKEN)


@pytest.fixture
async def gateway(
    aiohttp_client: Any, write_config: Any, redis_url: str, keys: Keys, queue_name: str,
    twilio_media: TwilioMedia, relay: Relay,
) -> TestClient:  # fmt: skip
    text = SAMPLE.read_text().replace("https://api.twilio.com", twilio_media.api_base)
    config: Config = write_config(text.replace("port = 2526", f"port = {relay.port}"))
    context.use(config)  # what `python -m worker` does at start
    client: TestClient = await aiohttp_client(build_app(config, redis_url, keys, queue=queue_name))
    return client


async def jobs_of(gateway: TestClient, queue_name: str) -> dict[str, Any]:
    response = await gateway.get("/api/admin/queues", headers=ADMIN)
    assert response.status == 200, await response.text()
    found: dict[str, Any] = (await response.json())["jobs"][queue_name]
    return found


async def rq_metric(gateway: TestClient, queue_name: str, state: str) -> int:
    text = await (await gateway.get("/metrics", headers=ADMIN)).text()
    [value] = [
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "intake_rq_queue_jobs"
        for sample in family.samples
        if sample.labels == {"queue": queue_name, "state": state}
    ]
    return int(value)


async def test_a_reply_job_is_named_described_and_finishes_in_rqs_registries(
    gateway: TestClient, sync_redis: redis.Redis, queue_name: str, keys: Keys, relay: Relay
) -> None:
    case_id = await email_case(gateway)
    entry_id = await reply(gateway, case_id)
    await queued(sync_redis, queue_name)
    [job] = Queue(queue_name, connection=sync_redis).get_jobs()
    assert job.func_name == "worker.jobs.send_email"
    assert job.description == f"send email: case {case_id} entry {entry_id}"
    assert job.id.startswith("deliver-") and job.id.endswith(f"-{case_id}-{entry_id}-1")
    assert job.meta["case_id"] == case_id and job.meta["entry_id"] == entry_id
    assert re.fullmatch(r"\d+-\d+", job.meta["outbox_id"]) and job.meta["channel"] == "email"
    assert job.retries_left == 3
    assert (await jobs_of(gateway, queue_name))["queued"] == 1
    run_jobs(sync_redis, queue_name)
    assert (await entry_of(gateway, case_id, entry_id))["delivery"] == "sent"
    assert len(relay.received) == 1
    found = await jobs_of(gateway, queue_name)
    assert (found["queued"], found["finished"], found["failed"]) == (0, 1, 0)
    assert await rq_metric(gateway, queue_name, "finished") == 1


async def failed_media_job(
    gateway: TestClient, twilio_media: TwilioMedia, sync_redis: redis.Redis, queue_name: str
) -> None:
    """An MMS whose media host answers 500 (it lacks the file) until the job's RQ retries are
    spent: the fetch job ends in the failed registry."""
    twilio_media.files = {SID: PHOTO}
    params = mms(twilio_media, "MM" + uuid.uuid4().hex) | {"NumMedia": "1"}
    twilio_media.files = {}
    assert (await gateway.post(TARGET, **twilio_post(params))).status == 200
    await queued(sync_redis, queue_name)
    run_jobs(sync_redis, queue_name)
    for _ in range(3):  # RQ's retries, each one due at once
        assert len(due_retries(sync_redis, queue_name)) == 1
        run_jobs(sync_redis, queue_name)


async def test_a_failing_job_lands_in_the_failed_registry_and_the_admin_retry_runs_it(
    gateway: TestClient, twilio_media: TwilioMedia, sync_redis: redis.Redis, queue_name: str
) -> None:
    await failed_media_job(gateway, twilio_media, sync_redis, queue_name)
    found = await jobs_of(gateway, queue_name)
    assert (found["queued"], found["scheduled"], found["failed"]) == (0, 0, 1)
    [failed] = found["failed_jobs"]
    assert failed["func"] == "worker.jobs.fetch_media" and failed["id"].startswith("media-")
    assert "Deferred" in failed["exc"] and "500" in failed["exc"]
    assert failed["description"].startswith("fetch media: case ")
    assert failed["meta"]["case_id"] == (await only_case_message(gateway))["case_id"]
    assert await rq_metric(gateway, queue_name, "failed") == 1

    path = f"/api/admin/queues/{queue_name}/failed/{failed['id']}/retry"
    assert (await gateway.post(path, headers=ANNA)).status == 403
    twilio_media.files = {SID: PHOTO}  # the host has it now
    retried = await gateway.post(path, headers=ADMIN)
    assert retried.status == 200, await retried.text()
    assert await retried.json() == {"queue": queue_name, "job_id": failed["id"], "status": "queued"}
    assert (await jobs_of(gateway, queue_name))["failed"] == 0
    run_jobs(sync_redis, queue_name)
    entry = await only_case_message(gateway)
    assert [a["size"] for a in entry["attachments"]] == [len(PHOTO[0])]
    assert await rq_metric(gateway, queue_name, "failed") == 0
    assert await rq_metric(gateway, queue_name, "finished") == 1

    again = await gateway.post(path, headers=ADMIN)
    assert again.status == 404 and (await again.json())["error"]["code"] == "job_not_found"
    other = await gateway.post(f"/api/admin/queues/elsewhere/failed/{failed['id']}/retry",
                               headers=ADMIN)  # fmt: skip
    assert other.status == 404 and (await other.json())["error"]["code"] == "queue_not_found"
    odd = await gateway.post(f"/api/admin/queues/{queue_name}/failed/a.b/retry", headers=ADMIN)
    assert odd.status == 404


def dashboard(redis_url: str) -> FlaskClient:
    """rq-dashboard's own Flask app on the test's Valkey, as `rq-dashboard --redis-url` runs it."""
    app = make_flask_app(None, None, None, "")
    app.config["RQ_DASHBOARD_REDIS_URL"] = redis_url
    with app.app_context():
        setup_rq_connection(app)
    return app.test_client()


async def test_rq_dashboard_lists_the_failed_job_with_its_meta_and_requeues_it(
    gateway: TestClient, twilio_media: TwilioMedia, sync_redis: redis.Redis, queue_name: str,
    redis_url: str,
) -> None:  # fmt: skip
    await failed_media_job(gateway, twilio_media, sync_redis, queue_name)
    board = dashboard(redis_url)
    listed = board.get(f"/0/data/jobs/{queue_name}/failed/10/asc/1.json").get_json()
    [job] = listed["jobs"]
    assert job["description"].startswith("fetch media: case ") and "Deferred" in job["exc_info"]
    shown = board.get(f"/0/data/job/{job['id']}.json").get_json()
    assert shown["status"] == "failed" and shown["origin"] == queue_name
    assert json.loads(shown["metadata"])["entry_id"]
    twilio_media.files = {SID: PHOTO}
    assert board.post(f"/job/{job['id']}/requeue").get_json() == {"status": "OK"}
    run_jobs(sync_redis, queue_name)
    entry = await only_case_message(gateway)
    assert [a["size"] for a in entry["attachments"]] == [len(PHOTO[0])]
    assert (await jobs_of(gateway, queue_name))["failed"] == 0
