"""SLA clocks through the running gateway with an injected clock: warnings and breaches exactly
once (two gateways on one Valkey, one closed between), the accept/pause/resume stops, reroute on
breach, the API's `sla`, filters, queue counts and metrics, and the reload recompute."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from gateway.config import load_config
from gateway.http.app import build_app
from gateway.runtime.clock import SettableClock
from routing.keys import Keys
from routing.scripts import Scripts
from tests.conftest import ADMIN, signed_sms
from tests.routing_invariants import assert_invariants

WARSAW = ZoneInfo("Europe/Warsaw")
URGENT = "+74950000011"  # complaint: priority 1, office hours
MINUTE = 60_000

CONFIG = """
[gateway]
admin_token = "change-me-admin"
default_region = "RU"
[types]
complaint = 1
request = 2
default = "request"
[sla]
warn_at = 0.8
escalate_to = ["vera"]
on_breach = {on_breach}
[sla.1]
reaction = "1h"
resolution = "4h"
schedule = "office"
[sla.2]
reaction = "1h"
resolution = "{resolution}"
[[schedules]]
id = "office"
timezone = "{timezone}"
mon = "09:00-18:00"
tue = "09:00-18:00"
wed = "09:00-18:00"
thu = "09:00-18:00"
fri = "09:00-18:00"
[[client_categories]]
id = "vip"
schedule = "always"
sla = {{ 1 = {{ reaction = "10m", resolution = "1h" }} }}
[callbacks]
private_grace = "10m"
retry_in = "30m"
max_attempts = 3
[channels.sms]
secret = "sample-sms-secret"
[[operators]]
id = "a"
token = "token-a"
capacity = {{ total = 3 }}
[[operators]]
id = "b"
token = "token-b"
capacity = {{ total = 3 }}
[[operators]]
id = "c"
token = "token-c"
capacity = {{ total = 3 }}
[[operators]]
id = "vera"
token = "token-vera"
capacity = {{ total = 3 }}
[[services]]
id = "support"
operators = ["a", "b"]
[[services]]
id = "other"
operators = ["c"]
[[rules]]
when = {{ channel = "sms", to = "{urgent}" }}
type = "complaint"
[routing]
default_service = "support"
"""


def config_text(
    on_breach: str = '"notify"', resolution: str = "8h", timezone: str = "Europe/Warsaw"
) -> str:
    return CONFIG.format(
        on_breach=on_breach, resolution=resolution, timezone=timezone, urgent=URGENT
    )


def local_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=WARSAW).timestamp() * 1000)


def rfc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo("UTC")).isoformat(timespec="milliseconds")


def iso(ms: int) -> str:
    return rfc(ms).replace("+00:00", "Z")


def as_op(op: str) -> dict[str, str]:
    return {"Authorization": f"Bearer token-{op}"}


Start = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(local_ms("2027-03-03 10:00"))  # a Wednesday


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(config_text())
    return path


@pytest.fixture
def start(aiohttp_client: Any, redis_url: str, keys: Keys, clock: SettableClock) -> Start:
    async def run(path: Path) -> TestClient:
        app = build_app(load_config(str(path), env={}), redis_url, keys, clock)
        client: TestClient = await aiohttp_client(app)
        return client

    return run


async def call(
    client: TestClient, method: str, path: str, body: Any = None, headers: Any = ADMIN,
    status: int = 200,
) -> Any:  # fmt: skip
    resp = await client.request(method, path, json=body, headers=headers)
    answer = await resp.json()
    assert resp.status == status, answer
    return answer


async def available(client: TestClient, *ops: str) -> None:
    for op in ops:
        body = {"presence": "available"}
        await call(client, "PUT", f"/api/operators/{op}/presence", body)


async def sms(client: TestClient, sender: str, to: str = URGENT) -> int:
    payload = {"id": uuid.uuid4().hex, "from": sender, "to": to, "text": "help"}
    resp = await client.post("/hooks/sms", **signed_sms(payload))
    assert resp.status == 200, await resp.text()
    return int((await resp.json())["case_id"])


async def case(client: TestClient, case_id: int) -> dict[str, Any]:
    found: dict[str, Any] = await call(client, "GET", f"/api/cases/{case_id}")
    return found


async def until(client: TestClient, case_id: int, check: Callable[[dict[str, Any]], Any]) -> Any:
    """The case once `check` holds: the sweeper ticks every 0.2 s of real time."""
    for _ in range(150):
        found = await case(client, case_id)
        if check(found):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"case {case_id} never got there: {found}")


def sla_entries(found: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["which"], e["level"]) for e in found["timeline"] if e["kind"] == "sla"]


def events(sync_redis: redis.Redis, keys: Keys, op: str) -> list[tuple[str, dict[str, str]]]:
    found = []
    for _, fields in sync_redis.xrange(keys.events(op)):
        decoded = {k.decode(): v.decode() for k, v in fields.items()}
        found.append((decoded["type"], decoded))
    return found


def kinds(sync_redis: redis.Redis, keys: Keys, op: str, prefix: str = "sla_") -> list[str]:
    return [kind for kind, _ in events(sync_redis, keys, op) if kind.startswith(prefix)]


async def test_one_warning_and_one_breach_through_two_gateways_one_closed_between(
    start: Start, config_path: Path, clock: SettableClock, keys: Keys, sync_redis: redis.Redis
) -> None:
    first, second = await start(config_path), await start(config_path)
    await available(first, "a")
    cid = await sms(first, "+79160000001")
    made = await case(first, cid)
    assert made["assignee"] == "a"
    assert made["sla"]["reaction_due"] == iso(local_ms("2027-03-03 11:00"))
    assert made["sla"]["resolution_due"] == iso(local_ms("2027-03-03 14:00"))
    assert made["sla"]["schedule"] == "office" and made["sla"]["breached"] == []
    clock.ms = local_ms("2027-03-03 10:49")  # 80 % of the hour has passed
    warned = await until(second, cid, lambda c: sla_entries(c))
    assert sla_entries(warned) == [("reaction", "warning")]
    await first.close()  # whichever held the timer lease, the other one goes on
    clock.ms = local_ms("2027-03-03 11:01")
    await until(second, cid, lambda c: len(sla_entries(c)) == 2)
    third = await start(config_path)  # one more process competing for the timers
    clock.ms = local_ms("2027-03-03 11:02")
    await asyncio.sleep(0.5)
    found = await case(third, cid)
    assert sla_entries(found) == [("reaction", "warning"), ("reaction", "breach")]
    assert "sla_breached" in found["flags"] and found["sla"]["breached"] == ["reaction"]
    assert kinds(sync_redis, keys, "a") == ["sla_warning", "sla_breach"]
    assert kinds(sync_redis, keys, "vera") == ["sla_breach"]
    data = dict(events(sync_redis, keys, "vera"))["sla_breach"]
    assert data["which"] == "reaction" and int(data["due"]) == local_ms("2027-03-03 11:00")


POLICY = json.dumps({"escalate": ["vera"], "action": "notify", "to": ""})


async def test_a_repeated_firing_step_changes_nothing(
    start: Start, config_path: Path, clock: SettableClock, keys: Keys, sync_redis: redis.Redis,
    redis_url: str,
) -> None:  # fmt: skip
    client = await start(config_path)
    await available(client, "a")
    cid = await sms(client, "+79160000002")
    clock.ms = local_ms("2027-03-03 11:30")
    await until(client, cid, lambda c: len(sla_entries(c)) == 2)
    direct = aioredis.Redis.from_url(redis_url)
    try:
        for _ in range(3):  # another process that read the same due timer, a retry after a crash
            assert not (await Scripts(direct, keys).sla_fire(clock.ms, cid, POLICY))["fired"]
    finally:
        await direct.aclose()
    assert sla_entries(await case(client, cid)) == [("reaction", "warning"), ("reaction", "breach")]
    assert kinds(sync_redis, keys, "a") == ["sla_warning", "sla_breach"]
    assert kinds(sync_redis, keys, "vera") == ["sla_breach"]


async def test_accept_before_the_warning_means_no_reaction_warning(
    start: Start, config_path: Path, clock: SettableClock, keys: Keys, sync_redis: redis.Redis
) -> None:
    client = await start(config_path)
    await available(client, "a", "b")
    accepted, untouched = await sms(client, "+79160000003"), await sms(client, "+79160000004")
    owner = (await case(client, accepted))["assignee"]
    clock.ms = local_ms("2027-03-03 10:10")
    done = await call(client, "POST", f"/api/cases/{accepted}/accept", {}, as_op(owner))
    assert done["sla"]["reacted_at"] == iso(clock.ms)
    clock.ms = local_ms("2027-03-03 11:30")
    await until(client, untouched, lambda c: len(sla_entries(c)) == 2)  # the sweeper has run
    assert sla_entries(await case(client, accepted)) == []
    assert kinds(sync_redis, keys, owner) == []
    clock.ms = local_ms("2027-03-03 13:15")  # 80 % of the 4 office hours of resolution
    found = await until(client, accepted, lambda c: sla_entries(c))
    assert sla_entries(found) == [("resolution", "warning")]
    listed = await call(client, "GET", "/api/cases?sla=at_risk")
    assert [c["id"] for c in listed["cases"]] == [accepted]
    listed = await call(client, "GET", "/api/cases?sla=breached")
    assert [c["id"] for c in listed["cases"]] == [untouched]
    queues = await call(client, "GET", "/api/admin/queues")
    assert queues["services"]["support"]["sla_breached"] == 1
    assert queues["services"]["support"]["sla_at_risk"] == 1
    resp = await client.get("/metrics", headers=ADMIN)
    assert 'intake_sla_breaches_total{service="support",priority="1",which="reaction"} 1' in (
        await resp.text()
    )
    bad = await call(client, "GET", "/api/cases?sla=late", status=422)
    assert bad["error"]["field"] == "sla"


async def test_pause_and_resume_shift_only_the_resolution_due_by_paused_open_time(
    start: Start, config_path: Path, clock: SettableClock
) -> None:
    client = await start(config_path)
    await available(client, "a")
    cid = await sms(client, "+79160000005")
    await call(client, "POST", f"/api/cases/{cid}/accept", {}, as_op("a"))
    clock.ms = local_ms("2027-03-03 10:30")
    paused = await call(client, "POST", f"/api/cases/{cid}/pause", {"reason": "x"}, as_op("a"))
    assert paused["sla"]["paused"] is True
    clock.ms = local_ms("2027-03-04 10:30")  # 7.5 h open on Wednesday, 1.5 h on Thursday
    resumed = await call(client, "POST", f"/api/cases/{cid}/resume", {}, as_op("a"))
    assert resumed["sla"]["reaction_due"] == iso(local_ms("2027-03-03 11:00"))
    # 14:00 Wednesday + 9 open hours: 4 h on Wednesday, 5 h on Thursday
    assert resumed["sla"]["resolution_due"] == iso(local_ms("2027-03-04 14:00"))
    assert resumed["sla"]["paused_total"] == 9 * 3600 and resumed["sla"]["paused"] is False


async def test_pause_until_resumes_by_timer_once_and_tells_the_assignee(
    start: Start, config_path: Path, clock: SettableClock, keys: Keys, sync_redis: redis.Redis
) -> None:
    client = await start(config_path)
    await available(client, "a")
    cid = await sms(client, "+79160000006")
    await call(client, "POST", f"/api/cases/{cid}/accept", {}, as_op("a"))
    body = {"reason": "later", "until": iso(local_ms("2027-03-03 12:00"))}
    await call(client, "POST", f"/api/cases/{cid}/pause", body, as_op("a"))
    clock.ms = local_ms("2027-03-03 12:00")
    found = await until(client, cid, lambda c: c["status"] == "in_progress")
    await asyncio.sleep(0.5)  # more ticks: still one resume
    found = await case(client, cid)
    resumes = [e for e in found["timeline"] if e.get("status") == "resumed"]
    assert len(resumes) == 1 and resumes[0]["by"] == "timer"
    assert kinds(sync_redis, keys, "a", "case_updated") == ["case_updated"]
    assert found["sla"]["resolution_due"] == iso(local_ms("2027-03-03 16:00"))


async def test_breach_with_reroute_moves_the_case_to_the_other_services_operator(
    start: Start, tmp_path: Path, clock: SettableClock, keys: Keys, sync_redis: redis.Redis
) -> None:
    path = tmp_path / "reroute.toml"
    path.write_text(config_text(on_breach='{ reroute = "other" }'))
    client = await start(path)
    await available(client, "a", "c")
    cid = await sms(client, "+79160000007")
    assert (await case(client, cid))["assignee"] == "a"
    clock.ms = local_ms("2027-03-03 11:00")
    moved = await until(client, cid, lambda c: c["service"] == "other")
    assert (moved["assignee"], moved["status"]) == ("c", "assigned")
    operator = await call(client, "GET", "/api/operators/a")
    assert operator["load"]["total"] == 0 and operator["cases"] == []
    assert [k for k, _ in events(sync_redis, keys, "a")][-2:] == ["sla_breach", "revoked"]
    assert_invariants(sync_redis, keys.prefix)


async def test_a_category_picks_its_schedule_and_deadlines(
    start: Start, config_path: Path, clock: SettableClock
) -> None:
    client = await start(config_path)
    first = await sms(client, "+79160000008")
    contact = (await case(client, first))["contact"]["id"]
    set_to = await call(client, "PATCH", f"/api/contacts/{contact}", {"category": "vip"})
    assert set_to["category"] == "vip"
    clock.ms = local_ms("2027-03-06 22:00")  # Saturday night: "always" for vip
    body = {"contact": {"phone": "+79160000008"}, "type": "complaint", "text": "again"}
    found = await call(client, "POST", "/api/cases", body, status=201)
    assert found["sla"]["schedule"] == "always"
    assert found["sla"]["reaction_due"] == iso(local_ms("2027-03-06 22:10"))
    refused = await call(client, "PATCH", f"/api/contacts/{contact}", {"category": "gold"},
                         status=422)  # fmt: skip
    assert refused["error"]["field"] == "category"
    await call(client, "PATCH", f"/api/contacts/{contact}", {"category": "vip"}, as_op("a"),
               status=403)  # fmt: skip


async def test_reload_recomputes_open_dues_and_an_invalid_schedule_is_refused(
    start: Start, config_path: Path, clock: SettableClock
) -> None:
    client = await start(config_path)
    cid = await sms(client, "+79160000009", to="+74950000000")  # a request: 8 h, 24/7
    assert (await case(client, cid))["sla"]["resolution_due"] == iso(local_ms("2027-03-03 18:00"))
    config_path.write_text(config_text(resolution="2h"))
    await call(client, "POST", "/api/admin/config/reload")
    assert (await case(client, cid))["sla"]["resolution_due"] == iso(local_ms("2027-03-03 12:00"))
    old = await call(client, "GET", "/api/admin/config")
    config_path.write_text(
        config_text(resolution="2h", timezone="Mars/Olympus").replace('fri = "09:00-18:00"',
                                                                       'fri = "18:00-09:00"')
    )  # fmt: skip
    refused = await call(client, "POST", "/api/admin/config/reload", status=422)
    problems = refused["error"]["problems"]
    assert any(
        p.startswith("config.toml: schedules[0].timezone: unknown time zone") for p in problems
    )
    assert any(p.startswith("config.toml: schedules[0].fri: ") for p in problems)
    assert (await call(client, "GET", "/api/admin/config"))["version"] == old["version"]
    assert (await case(client, cid))["sla"]["resolution_due"] == iso(local_ms("2027-03-03 12:00"))
