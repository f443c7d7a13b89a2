"""Routing invariants read straight from Redis, and a load worker that runs in its own process.

`problems(client, prefix)` recounts every operator's load from the cases and checks capacities,
single assignment, queues, pools, offers and the "queued only when nobody eligible has room"
rule; `test_routing_concurrency` and `test_routing_properties` assert it is empty.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

import redis
import redis.asyncio as aioredis

from channels.blobs import FsBlobStore
from channels.message import CHANNELS, InboundMessage
from gateway.config import Config, load_config
from gateway.intake import Intake
from routing.constants import PRIORITY_SCALE
from routing.errors import RoutingRefused
from routing.keys import Keys
from routing.rules import Decision
from routing.scripts import Scripts

STATUSES = ("queued", "assigned", "in_progress", "waiting", "resolved", "classifying", "returned")
OPEN = ("assigned", "in_progress", "waiting", "classifying", "returned")  # held by the assignee
COUNTED = ("assigned", "in_progress", "classifying")


@dataclass
class Snapshot:
    """Everything routing keeps for one prefix, decoded."""

    ops: dict[str, dict[str, str]] = field(default_factory=dict)
    op_cases: dict[str, set[int]] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)
    cases: dict[int, dict[str, str]] = field(default_factory=dict)
    excluded: dict[int, set[str]] = field(default_factory=dict)
    queues: dict[tuple[str, str], dict[int, float]] = field(default_factory=dict)
    pools: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    offers: dict[int, float] = field(default_factory=dict)
    resumes: dict[int, float] = field(default_factory=dict)
    by_status: dict[str, set[int]] = field(default_factory=dict)

    def load(self, op: str, channel: str = "") -> int:
        return int(self.ops[op].get(f"l:{channel}" if channel else "lt", 0))

    def capacity(self, op: str, channel: str = "") -> int:
        return int(self.ops[op].get(f"c:{channel}" if channel else "ct", 0))

    def has_room(self, op: str, channel: str) -> bool:
        return (
            self.ops[op].get("pr") == "available"
            and self.load(op) < self.capacity(op)
            and self.load(op, channel) < self.capacity(op, channel)
        )


def _s(value: bytes | None) -> str:
    return value.decode() if value is not None else ""


def _decoded(raw: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in raw.items()}


def snapshot(client: redis.Redis, prefix: str) -> Snapshot:
    """Read every routing key of `prefix`: first the operators, then the rest in one MULTI."""
    keys = Keys(prefix)
    ops = sorted(_s(m) for m in client.smembers(keys.operators))
    with client.pipeline(transaction=True) as pipe:
        for op in ops:
            pipe.smembers(keys.operator_services(op))
        pipe.get(keys.case_seq)
        *svc_sets, seq = pipe.execute()
    services = sorted({_s(s) for found in svc_sets for s in found})
    last_case = int(seq or 0)
    with client.pipeline(transaction=True) as pipe:
        for op in ops:
            pipe.hgetall(keys.operator(op))
            pipe.smembers(keys.operator_cases(op))
        for case_id in range(1, last_case + 1):
            pipe.hgetall(keys.case(case_id))
            pipe.smembers(f"{prefix}ex:{case_id}")
        for svc in services:
            pipe.smembers(keys.service_members(svc))
            for ch in CHANNELS:
                pipe.zrange(keys.queue(svc, ch), 0, -1, withscores=True)
                pipe.zrange(keys.pool(svc, ch), 0, -1)
        pipe.zrange(keys.offers, 0, -1, withscores=True)
        pipe.zrange(keys.resumes, 0, -1, withscores=True)
        for status in STATUSES:
            pipe.zrange(keys.status(status), 0, -1)
        rows = iter(pipe.execute())
    snap = Snapshot()
    for op in ops:
        snap.ops[op] = _decoded(next(rows))
        snap.op_cases[op] = {int(c) for c in next(rows)}
    for case_id in range(1, last_case + 1):
        case, excluded = _decoded(next(rows)), next(rows)
        if case:
            snap.cases[case_id] = case
            snap.excluded[case_id] = {_s(o) for o in excluded}
    for svc in services:
        snap.members[svc] = {_s(o) for o in next(rows)}
        for ch in CHANNELS:
            snap.queues[svc, ch] = {int(c): score for c, score in next(rows)}
            snap.pools[svc, ch] = {_s(o) for o in next(rows)}
    snap.offers = {int(c): score for c, score in next(rows)}
    snap.resumes = {int(c): score for c, score in next(rows)}
    for status in STATUSES:
        snap.by_status[status] = {int(c) for c in next(rows)}
    return snap


def queue_score(case: dict[str, str]) -> int:
    return int(case["pr"]) * PRIORITY_SCALE + int(case["ca"])


def problems(client: redis.Redis, prefix: str, *, check_exclusions: bool = True) -> list[str]:
    """Every broken invariant, as sentences; empty when routing state is consistent."""
    return problems_in(snapshot(client, prefix), check_exclusions=check_exclusions)


def problems_in(snap: Snapshot, *, check_exclusions: bool = True) -> list[str]:
    found = _operator_problems(snap)
    for case_id, case in snap.cases.items():
        found += _case_problems(snap, case_id, case, check_exclusions)
    found += _pool_problems(snap)
    found += _queued_problems(snap)
    return found


def assert_invariants(client: redis.Redis, prefix: str, *, check_exclusions: bool = True) -> None:
    found = problems(client, prefix, check_exclusions=check_exclusions)
    assert not found, "routing invariants broken:\n" + "\n".join(found[:30])


def _operator_problems(snap: Snapshot) -> list[str]:
    found = []
    for op in snap.ops:
        mine = {cid for cid, c in snap.cases.items() if c.get("as") == op and c["st"] in OPEN}
        if snap.op_cases[op] != mine:
            found.append(f"{op}: case set {sorted(snap.op_cases[op])} != recount {sorted(mine)}")
        counted = [snap.cases[cid] for cid in mine if snap.cases[cid]["st"] in COUNTED]
        if snap.load(op) != len(counted):
            found.append(f"{op}: load {snap.load(op)} != recount {len(counted)}")
        if snap.load(op) > snap.capacity(op):
            found.append(f"{op}: load {snap.load(op)} over capacity {snap.capacity(op)}")
        for ch in CHANNELS:
            load, recount = snap.load(op, ch), sum(1 for c in counted if c["ch"] == ch)
            if load != recount:
                found.append(f"{op}: {ch} load {load} != recount {recount}")
            if load > snap.capacity(op, ch):
                found.append(f"{op}: {ch} load {load} over capacity {snap.capacity(op, ch)}")
    return found


def _case_problems(snap: Snapshot, cid: int, case: dict[str, str], exclusions: bool) -> list[str]:
    found = []
    st, assignee = case.get("st", ""), case.get("as")
    if [s for s in STATUSES if cid in snap.by_status[s]] != [st]:
        found.append(f"case {cid}: status {st!r} not indexed exactly once")
    holders = [op for op, cases in snap.op_cases.items() if cid in cases]
    queues = [q for q, members in snap.queues.items() if cid in members]
    if st == "queued":
        if assignee or holders or queues != [(case["sv"], case["ch"])]:
            found.append(f"case {cid}: queued with {assignee=} {holders=} {queues=}")
        elif snap.queues[case["sv"], case["ch"]][cid] != queue_score(case):
            found.append(f"case {cid}: queue position is not priority then arrival")
    elif st in OPEN and (holders != [assignee] or queues):
        found.append(f"case {cid}: {st} for {assignee} but held by {holders}, queued in {queues}")
    elif st == "resolved" and (holders or queues or "ra" not in case):
        found.append(f"case {cid}: resolved but held by {holders}, queued in {queues}")
    has_offer = "of" in case
    if has_offer != (cid in snap.offers) or (has_offer and st != "assigned"):
        found.append(f"case {cid}: offer field {has_offer}, offers zset {cid in snap.offers}")
    elif has_offer and snap.offers[cid] != float(case["oe"]):
        found.append(f"case {cid}: offer expiry differs from the sweeper's schedule")
    if st == "waiting" and "pu" in case and snap.resumes.get(cid) != float(case["pu"]):
        found.append(f"case {cid}: waiting until {case['pu']} but not scheduled to resume")
    if exclusions and st in OPEN and assignee in snap.excluded[cid]:
        found.append(f"case {cid}: given to {assignee}, who is excluded from it")
    return found


def _pool_problems(snap: Snapshot) -> list[str]:
    found = []
    for (svc, ch), pool in snap.pools.items():
        expected = {op for op in snap.members[svc] if op in snap.ops and snap.has_room(op, ch)}
        if pool != expected:
            found.append(f"pool {svc}/{ch}: {sorted(pool)} != eligible with room {expected}")
    for (svc, ch), queue in snap.queues.items():
        for cid in queue:
            case = snap.cases.get(cid, {})
            if (case.get("st"), case.get("sv"), case.get("ch")) != ("queued", svc, ch):
                found.append(f"queue {svc}/{ch}: stale member {cid}")
    return found


def _queued_problems(snap: Snapshot) -> list[str]:
    found = []
    for cid in snap.by_status["queued"]:
        case = snap.cases[cid]
        for op in snap.members.get(case["sv"], set()):
            if op in snap.ops and op not in snap.excluded[cid] and snap.has_room(op, case["ch"]):
                found.append(f"case {cid} queued in {case['sv']} while {op} has room")
    return found


def capacity_breaches(client: redis.Redis, prefix: str, ops: list[str]) -> list[str]:
    """Loads read in one MULTI: anything over a capacity (used while processes run)."""
    keys = Keys(prefix)
    with client.pipeline(transaction=True) as pipe:
        for op in ops:
            pipe.hgetall(keys.operator(op))
        rows = pipe.execute()
    found = []
    for op, raw in zip(ops, rows, strict=True):
        h = _decoded(raw)
        for suffix in ["", *CHANNELS]:
            load_key, cap_key = ("lt", "ct") if not suffix else (f"l:{suffix}", f"c:{suffix}")
            if not 0 <= int(h.get(load_key, 0)) <= int(h.get(cap_key, 0)):
                found.append(f"{op}: {load_key}={h.get(load_key)} {cap_key}={h.get(cap_key)}")
    return found


# ---- the load worker: one OS process routing and acting on cases through the scripts ----

TYPES = {1: "complaint", 2: "request", 3: "consultation"}


@dataclass
class WorkerStats:
    arrivals: int = 0
    resolved: int = 0
    actions: int = 0
    refused: int = 0
    started: float = 0.0  # wall clock, to show that the processes overlapped
    finished: float = 0.0


def run_worker(url: str, prefix: str, config_path: str, seed: int, arrivals: int) -> WorkerStats:
    """Entry point for `multiprocessing` (spawn): `arrivals` cases plus random actions."""
    return asyncio.run(_work(url, prefix, load_config(config_path, env={}), seed, arrivals))


async def _work(url: str, prefix: str, config: Config, seed: int, arrivals: int) -> WorkerStats:
    client = aioredis.Redis.from_url(url)
    worker = _Worker(client, Keys(prefix), config, random.Random(seed))
    worker.stats.started = time.time()
    try:
        while worker.stats.arrivals < arrivals:
            await worker.step()
    finally:
        await client.aclose()
    worker.stats.finished = time.time()
    return worker.stats


class _Worker:
    def __init__(self, client: aioredis.Redis, keys: Keys, config: Config, rng: random.Random):
        self.client, self.keys, self.config, self.rng = client, keys, config, rng
        self.scripts = Scripts(client, keys)
        self.intake = Intake(self.scripts, FsBlobStore(config.blobs_dir))
        self.ops = sorted(config.routing.operators)
        self.stats = WorkerStats()

    async def step(self) -> None:
        roll = self.rng.random()
        try:
            if roll < 0.4:
                await self.arrive()
            elif roll < 0.43:
                await self.presence()
            else:
                await self.act()
        except RoutingRefused:
            self.stats.refused += 1  # another process changed the case first: expected

    async def arrive(self) -> None:
        channel = self.rng.choice(["sms", "webform", "phone", "email"])
        priority = self.rng.choice([1, 2, 2, 3])
        service = self.rng.choice(sorted(self.config.routing.services))
        msg = InboundMessage(
            channel=channel,
            dedupe_scope="load",
            delivery_id=None,
            sender_phone=f"+7916{self.rng.randrange(40):07d}",
            text="load",
            threading="sms" if channel == "sms" else "new",
        )
        decision = Decision(service, TYPES[priority], priority, None)
        await self.intake.submit(self.config, msg, decision)
        self.stats.arrivals += 1

    async def presence(self) -> None:
        presence = self.rng.choice(["available"] * 6 + ["away", "offline"])
        await self.scripts.presence(_now(), self.rng.choice(self.ops), presence)

    async def act(self) -> None:
        op = self.rng.choice(self.ops)
        raw = await self.client.srandmember(self.keys.operator_cases(op))
        if raw is None:
            return
        case_id = int(raw)
        status, offer = await self.client.hmget(self.keys.case(case_id), "st", "of")
        actor = self.rng.choice([op, op, op, ""])  # mostly the operator, sometimes the admin
        self.stats.actions += 1
        await self._act_on(case_id, _s(status), actor, _s(offer))

    async def _act_on(self, case_id: int, status: str, actor: str, offer: str) -> None:
        s, roll = self.scripts, self.rng.random()
        if status == "assigned" and roll < 0.75:
            await s.accept(_now(), case_id, actor, offer)
        elif status == "assigned" and roll < 0.9:
            await s.decline(_now(), case_id, actor)
        elif status == "assigned":
            await s.expire(_now() + 86_400_000, case_id)  # as if the offer timed out
        elif status == "in_progress" and roll < 0.6:
            await s.resolve(_now(), case_id, actor)
            self.stats.resolved += 1
        elif status == "in_progress" and roll < 0.75:
            await s.pause(_now(), case_id, actor, "customer", None)
        elif status == "in_progress" and roll < 0.85:
            service = self.rng.choice(sorted(self.config.routing.services))
            await s.transfer(_now(), case_id, actor, "service", service, False)
        elif status == "in_progress":
            target = self.rng.choice(self.ops)
            await s.transfer(_now(), case_id, actor, "operator", target, False)
        elif status == "waiting" and roll < 0.5:
            await s.resume(_now(), case_id, actor, by_timer=roll < 0.2)
        elif status == "waiting":
            await s.resolve(_now(), case_id, actor)
            self.stats.resolved += 1


def _now() -> int:
    return int(time.time() * 1000)
