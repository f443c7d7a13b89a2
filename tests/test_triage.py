"""Triage: a line's cases wait `classifying` with its operators, without SLA clocks; classify
routes each to the chosen service's least-loaded operator and frees the triage operator in one
step, also with four processes classifying the same cases at once."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import redis

from channels.blobs import FsBlobStore
from channels.message import InboundMessage
from gateway.config import Config
from gateway.intake import Intake
from gateway.runtime.clock import SettableClock
from routing import sync
from routing.keys import Keys
from routing.scripts import Scripts
from tests.routing_invariants import assert_invariants, capacity_breaches
from tests.sla_helpers import iso
from tests.workflow_helpers import (
    LINE,
    MINUTE,
    OPERATORS,
    START_MS,
    ClassifyStats,
    Start,
    as_op,
    available,
    call,
    case,
    clock,
    config_text,
    run_classifier,
    sms,
    start,
)

__all__ = ["clock", "start"]  # fixtures

CLASSIFY = {"theme": "delivery", "type": "complaint", "subtheme": "late", "service": "sales"}


async def test_a_line_case_waits_classifying_then_goes_to_the_least_loaded(
    start: Start, clock: SettableClock
) -> None:
    client = await start()
    await available(client, "t1", "s1", "s2", "s3")
    for _ in range(3):  # one each: least-loaded spreads them
        body = {"contact": {"phone": "+79160000003"}, "text": "x", "service": "sales"}
        await call(client, "POST", "/api/cases", body, status=201)
    await call(client, "POST", "/api/cases/2/resolve", headers=as_op("s2"))  # s2: the lightest
    first, second, third = await sms(client, LINE), await sms(client, LINE), await sms(client, LINE)
    found = await case(client, first)
    assert (found["status"], found["assignee"], found["service"]) == ("classifying", "t1", "line")
    assert found["sla"]["reaction_due"] is None and found["sla"]["resolution_due"] is None
    assert (await case(client, third))["status"] == "queued"  # t1 holds two, t2 is away
    clock.advance(600)
    answer = await call(
        client, "POST", f"/api/cases/{first}/classify", CLASSIFY, headers=as_op("t1")
    )
    assert (answer["status"], answer["service"], answer["type"], answer["priority"]) == (
        "assigned", "sales", "complaint", 1,
    )  # fmt: skip
    assert answer["assignee"] == "s2"  # load 0; s1 and s3 have one each
    assert (answer["theme"], answer["subtheme"]) == ("delivery", "late")
    # the clocks start at classification, ten minutes after the case arrived
    assert answer["sla"]["reaction_due"] == iso(START_MS + 10 * MINUTE + 15 * MINUTE)
    t1 = await call(client, "GET", "/api/operators/t1")
    assert t1["load"]["total"] == 2  # freed at once, and the queued line case pulled in
    assert (await case(client, third))["status"] == "classifying"
    assert {c["id"] for c in t1["cases"]} == {second, third}
    entries = [e for e in (await case(client, first))["timeline"] if e["kind"] == "change"]
    assert {e["field"] for e in entries} == {"theme", "type", "subtheme", "priority"}


async def test_a_classify_body_that_does_not_fit_its_struct_is_refused_naming_the_path(
    start: Start,
) -> None:
    client = await start()
    await available(client, "t1", "s1")
    case_id = await sms(client, LINE)
    for body, code, message in (
        ({**CLASSIFY, "theme": 7}, "invalid_field", "'theme': Expected str, got int."),
        ({**CLASSIFY, "theme": None}, "invalid_field", "'theme': Expected str, got null."),
        ({**CLASSIFY, "fields": [1]}, "invalid_field", "'fields': Expected object, got array."),
        ({**CLASSIFY, "priority": 1}, "invalid_field", "'priority' cannot be given here."),
        ({"service": "sales", "type": "complaint"}, "missing_field", "'theme' is required."),
    ):
        answer = await call(client, "POST", f"/api/cases/{case_id}/classify", body, status=422)
        field = message[1 : message.index("'", 1)]
        assert answer["error"] == {"code": code, "message": message, "field": field}, body
    found = await case(client, case_id)
    assert (found["status"], found["theme"]) == ("classifying", None)


async def test_classify_is_checked_like_patch_and_changes_nothing_when_refused(
    start: Start,
) -> None:
    client = await start()
    await available(client, "t1", "s1")
    case_id = await sms(client, LINE)
    for body, field in (
        ({**CLASSIFY, "subtheme": "prices"}, "subtheme"),
        ({**CLASSIFY, "theme": "tariffs", "subtheme": "change"}, "product"),
        ({**CLASSIFY, "service": "nowhere"}, "service"),
        ({key: v for key, v in CLASSIFY.items() if key != "service"}, "service"),
        ({key: v for key, v in CLASSIFY.items() if key != "type"}, "type"),
        ({**CLASSIFY, "fields": {"contract": "x"}}, "fields.contract"),  # sales has none
    ):
        answer = await call(client, "POST", f"/api/cases/{case_id}/classify", body, status=422)
        assert answer["error"]["field"] == field, answer
    found = await case(client, case_id)
    assert (found["status"], found["assignee"], found["theme"]) == ("classifying", "t1", None)
    answer = await call(
        client, "POST", f"/api/cases/{case_id}/classify", CLASSIFY, headers=as_op("t2"), status=403
    )
    assert answer["error"]["code"] == "not_yours"
    await call(client, "POST", f"/api/cases/{case_id}/classify", CLASSIFY, headers=as_op("t1"))
    answer = await call(client, "POST", f"/api/cases/{case_id}/classify", CLASSIFY, status=409)
    assert answer["error"]["code"] == "not_classifying"
    accept = await call(client, "POST", f"/api/cases/{case_id}/accept", headers=as_op("s1"))
    assert accept["status"] == "in_progress"


# ---- several processes ----

PROCESSES = 4
CASES = 60
WORKING = {"t1": 20, "t2": 20, "s1": 8, "s2": 8, "s3": 8}  # 40 classifying, 20 queued
CAPACITIES = {**OPERATORS, **WORKING}


async def _prepare(url: str, keys: Keys, config: Config) -> list[int]:
    client = redis.asyncio.Redis.from_url(url)
    scripts = Scripts(client, keys)
    await sync.apply(scripts, config.routing, config.version)
    for op in WORKING:
        await scripts.presence(START_MS, op, "available")
    intake = Intake(scripts, FsBlobStore(config.blobs_dir), SettableClock(START_MS))
    ids = []
    for n in range(CASES):
        msg = InboundMessage(
            channel="sms", dedupe_scope="t", delivery_id=None, sender_phone=f"+7916000{n:04d}",
            to=LINE, text="hello", threading="sms",
        )  # fmt: skip
        ids.append((await intake.submit(config, msg)).case_id)
    await client.aclose()
    return ids


def _watch(url: str, keys: Keys, stop: threading.Event, seen: list[str]) -> None:
    client = redis.Redis.from_url(url)
    while not stop.is_set():
        seen.extend(capacity_breaches(client, keys.prefix, sorted(CAPACITIES)))
    client.close()


def test_four_processes_classify_each_case_once(
    redis_url: str, keys: Keys, write_config: Callable[[str], Config], sync_redis: redis.Redis
) -> None:
    config = write_config(config_text(CAPACITIES))
    ids = asyncio.run(_prepare(redis_url, keys, config))
    statuses = [sync_redis.hget(keys.case(cid), "st") for cid in ids]
    assert statuses.count(b"classifying") == 40 and statuses.count(b"queued") == 20
    breaches: list[str] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(redis_url, keys, stop, breaches))
    watcher.start()
    spawn = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(PROCESSES, mp_context=spawn) as pool:
            futures = [
                pool.submit(run_classifier, redis_url, keys.prefix, config.path, seed, ids)
                for seed in range(PROCESSES)
            ]
            stats: list[ClassifyStats] = [f.result(timeout=90) for f in futures]
    finally:
        stop.set()
        watcher.join()
    classified = sorted(cid for s in stats for cid in s.classified)
    assert classified == sorted(ids), "each case classified exactly once"
    assert not breaches, breaches[:10]
    for op in ("t1", "t2"):
        assert sync_redis.hget(keys.operator(op), "lt") == b"0"
    states = [sync_redis.hmget(keys.case(cid), "st", "sv") for cid in ids]
    assert states.count([b"assigned", b"sales"]) == 24  # every sales operator full
    assert states.count([b"queued", b"sales"]) == 36
    for cid in ids:  # one classification each: one move to sales on the timeline
        moves = [
            e for e in sync_redis.lrange(keys.timeline(cid), 0, -1) if b'"service":"sales"' in e
        ]
        assert len(moves) == 1, (cid, moves)
    assert_invariants(sync_redis, keys.prefix)
