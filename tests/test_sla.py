"""SLA clocks through the running gateway with an injected clock: warnings and breaches exactly
once (two gateways on one Valkey, one closed between), the accept/pause/resume stops, reroute on
breach, the API's `sla`, filters, queue counts and metrics, and the reload recompute."""

# ruff: noqa: F401, F811 (the fixtures clock, config_path and start come from sla_helpers)

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import redis
import redis.asyncio as aioredis

from gateway.runtime.clock import SettableClock
from routing.keys import Keys
from routing.scripts import Scripts
from tests.conftest import ADMIN
from tests.metrics_text import sample
from tests.routing_invariants import assert_invariants
from tests.sla_helpers import (
    Start,
    as_op,
    available,
    call,
    case,
    clock,
    config_path,
    config_text,
    events,
    iso,
    kinds,
    local_ms,
    sla_entries,
    sms,
    start,
    until,
)


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
    metrics = await resp.text()
    breaches = sample(
        metrics, "intake_sla_breaches_total", service="support", priority="1", which="reaction"
    )
    assert breaches == 1
    assert sample(metrics, "intake_reaction_seconds_bucket", le="900") == 1  # accepted at 10 min
    assert sample(metrics, "intake_reaction_seconds_bucket", le="300") == 0
    assert sample(metrics, "intake_reaction_seconds_count") == 1
    assert sample(metrics, "intake_reaction_seconds_sum") == 600.0
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


async def test_a_queued_case_warns_its_watchers_and_a_breach_can_raise_priority(
    start: Start, tmp_path: Path, clock: SettableClock, keys: Keys, sync_redis: redis.Redis
) -> None:
    path = tmp_path / "raise.toml"
    path.write_text(config_text(on_breach='"raise_priority"'))
    client = await start(path)
    await call(client, "PUT", "/api/operators/a/presence", {"presence": "away"})
    cid = await sms(client, "+79160000010", to="+74950000000")  # a request: priority 2, 24/7
    assert (await case(client, cid))["status"] == "queued"
    clock.ms = local_ms("2027-03-03 10:48")
    await until(client, cid, lambda c: sla_entries(c))
    assert kinds(sync_redis, keys, "a") == ["sla_warning"], "away members watch the queue"
    assert kinds(sync_redis, keys, "b") == [], "offline members are not told"
    clock.ms = local_ms("2027-03-03 11:00")
    raised = await until(client, cid, lambda c: c["priority"] == 1)
    change = [e for e in raised["timeline"] if e["kind"] == "change"]
    assert [(e["field"], e["old"], e["new"]) for e in change] == [("priority", 2, 1)]
    score = sync_redis.zscore(keys.queue("support", "sms"), cid)
    assert score is not None and int(score) // 10**13 == 1, "queued by its new priority"
    assert kinds(sync_redis, keys, "vera") == ["sla_breach"]


async def test_a_reopened_case_gets_fresh_deadlines_not_a_stale_breach(
    start: Start, config_path: Path, clock: SettableClock
) -> None:
    client = await start(config_path)
    await available(client, "a")
    cid = await sms(client, "+79160000011")
    await call(client, "POST", f"/api/cases/{cid}/accept", {}, as_op("a"))
    await call(client, "POST", f"/api/cases/{cid}/resolve", {}, as_op("a"))
    clock.ms = local_ms("2027-03-05 10:00")  # two days on: every old due time has passed
    assert await sms(client, "+79160000011") == cid
    reopened = await case(client, cid)
    assert reopened["status"] == "assigned"
    assert reopened["sla"]["resolution_due"] == iso(local_ms("2027-03-05 14:00"))
    await asyncio.sleep(0.5)  # sweeps: nothing is due
    assert sla_entries(await case(client, cid)) == []
