"""A hypothesis state machine over random arrivals, presence changes, accepts, declines, offer
expiries, pauses, resumes, transfers, resolves and capacity raises, through the real scripts:
after every step the invariants of `tests/routing_invariants.py` hold, every routing decision
is the one SPEC section 4 names (sticky owner, then lowest load/capacity, oldest last
assignment, smallest id), and a refused action changes nothing.

ROUTING_EXAMPLES=400 searches harder. Shrinking is off: a failing run prints its steps, and
shrinking a long stateful run took minutes (past the suite's timeout)."""

from __future__ import annotations

import asyncio
import copy
import os
import time
import uuid
from collections.abc import Callable, Coroutine
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from channels.blobs import FsBlobStore
from channels.message import InboundMessage
from gateway.config import Config, load_config
from gateway.intake import Intake
from routing import sync
from routing.errors import RoutingRefused
from routing.keys import Keys
from routing.rules import Decision
from routing.scripts import Scripts
from tests.helpers import TYPES_AND_SLAS
from tests.routing_invariants import TYPES, Snapshot, problems_in, snapshot

T = TypeVar("T")

CONFIG = (
    """
[gateway]
admin_token = "change-me-admin"
default_region = "RU"
[cases]
reopen_within = "7d"
"""
    + TYPES_AND_SLAS
    + """[[operators]]
id = "a"
token = "token-a"
capacity = {{ total = {a}, phone = 1, sms = 2 }}
[[operators]]
id = "b"
token = "token-b"
capacity = {{ total = {b}, phone = 1 }}
[[operators]]
id = "c"
token = "token-c"
capacity = {{ total = {c}, phone = 2, sms = 3, webform = 1 }}
[[operators]]
id = "d"
token = "token-d"
capacity = {{ total = {d} }}
[[services]]
id = "s1"
operators = ["a", "b", "c"]
sticky_owner = true
[[services]]
id = "s2"
operators = ["c", "d"]
[routing]
default_service = "s1"
offer_timeout = {{ phone = "1h" }}
"""
)
BASE = {"a": 2, "b": 1, "c": 3, "d": 1}
RAISED = {"a": 4, "b": 3, "c": 5, "d": 3}  # a reload that raises capacities drains queues

OPS = sorted(BASE)
SERVICES = ("s1", "s2")
STICKY = {"s1"}
PHONES = [f"+7916000000{n}" for n in range(5)]

OPEN_OR_QUEUED = ("queued", "assigned", "in_progress", "waiting")
ACTIONS = {  # action -> the statuses of the cases it applies to
    "accept": ("assigned",),
    "give_back": ("assigned",),
    "pause": ("in_progress",),
    "resume": ("waiting",),
    "resolve": OPEN_OR_QUEUED,
    "to_service": OPEN_OR_QUEUED,
    "to_operator": OPEN_OR_QUEUED,
    "intrude": ("in_progress",),
}
# Weighted by repetition: arrivals must keep up with everything that takes cases away.
KINDS = ["arrive"] * 4 + ["sms_thread", "presence", "raise_capacity"] * 2 + sorted(ACTIONS) * 2
KINDS += ["pause", "resume"] * 2  # resuming into a full operator needs a pause, then a drain
picks = st.integers(min_value=0, max_value=10_000)


def _now() -> int:
    return int(time.time() * 1000)


def expected_pick(
    snap: Snapshot, svc: str, ch: str, owner: str | None, excluded: set[str]
) -> str | None:
    """SPEC section 4, computed from a snapshot taken before the decision."""
    eligible = [
        op
        for op in snap.members.get(svc, set())
        if op in snap.ops and op not in excluded and snap.has_room(op, ch)
    ]
    if svc in STICKY and owner in eligible:
        return owner
    if not eligible:
        return None
    return min(
        eligible,
        key=lambda op: (
            Fraction(snap.load(op), snap.capacity(op)),
            int(snap.ops[op].get("la", 0)),
            op,
        ),
    )


class RoutingMachine(RuleBasedStateMachine):
    def __init__(self, url: str, configs: tuple[Config, Config]) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.keys = Keys(f"{{h{uuid.uuid4().hex[:10]}}}:")
        self.client = aioredis.Redis.from_url(url)
        self.redis = redis.Redis.from_url(url)
        self.scripts = Scripts(self.client, self.keys)
        self.config, self.raised_config = configs
        self.intake = Intake(self.scripts, FsBlobStore(self.config.blobs_dir))
        self.raised = False
        self.run(sync.apply(self.scripts, self.config.routing, self.config.version))
        for op in OPS:  # start with everyone at work; the presence rule sends them away
            self.run(self.scripts.presence(_now(), op, "available"))
        self.state = self.snap()  # as of the last step: each step starts from it

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        for key in self.redis.scan_iter(match=f"{self.keys.prefix}*", count=1000):
            self.redis.delete(key)
        self.redis.close()
        self.run(self.client.aclose())
        self.loop.close()

    # ---- reading state ----

    def snap(self) -> Snapshot:
        return snapshot(self.redis, self.keys.prefix)

    def owner_of(self, phone: str) -> str | None:
        contact = self.redis.hget(self.keys.phone_index, phone)
        if contact is None:
            return None
        owner = self.redis.hget(self.keys.contact(contact.decode()), "ow")
        return owner.decode() if owner else None

    def case_owner(self, case: dict[str, str]) -> str | None:
        owner = self.redis.hget(self.keys.contact(case["ct"]), "ow")
        return owner.decode() if owner else None

    def any(self, *statuses: str) -> bool:
        return any(self.state.by_status[status] for status in statuses)

    def choose(self, snap: Snapshot, pick: int, statuses: tuple[str, ...]) -> int:
        ids = sorted(cid for cid, c in snap.cases.items() if c["st"] in statuses)
        return ids[pick % len(ids)]

    def refused(self, work: Callable[[], Coroutine[Any, Any, Any]], code: str) -> None:
        """`work` must be refused with `code` and leave every key as it was."""
        before = self.snap()
        try:
            self.run(work())
        except RoutingRefused as error:
            assert error.code == code, (error.code, code)
        else:
            raise AssertionError(f"expected {code}")
        assert self.snap() == before, f"refused with {code} but changed state"

    # ---- one rule: hypothesis' swarm testing would switch whole chains of rules off ----

    @rule(
        kind=st.sampled_from(KINDS),
        pick=picks,
        flag=st.booleans(),
        op=st.sampled_from(OPS),
        svc=st.sampled_from(SERVICES),
    )
    def step(self, kind: str, pick: int, flag: bool, op: str, svc: str) -> None:
        statuses = ACTIONS.get(kind)
        if statuses is None:
            getattr(self, kind)(self.state, pick, flag, op, svc)
        elif self.any(*statuses):
            cid = self.choose(self.state, pick, statuses)
            getattr(self, kind)(self.state, cid, flag, op, svc)

    # ---- arrivals ----

    def arrive(self, before: Snapshot, pick: int, _flag: bool, _op: str, svc: str) -> None:
        channel, priority = ("sms", "phone", "webform")[pick % 3], 1 + pick // 3 % 3
        phone = PHONES[pick // 9 % len(PHONES)]
        owner = self.owner_of(phone)
        msg = InboundMessage(channel=channel, dedupe_scope="prop", delivery_id=None,
                             sender_phone=phone, text="hi")  # fmt: skip
        decision = Decision(svc, TYPES[priority], priority, None)
        result = self.run(self.intake.submit(self.config, msg, decision))
        expected = expected_pick(before, svc, channel, owner, set())
        assert result.assignee == expected, (result, expected)
        assert result.status == ("queued" if expected is None else "assigned")

    def sms_thread(self, before: Snapshot, pick: int, _flag: bool, _op: str, _s: str) -> None:
        """SMS threading: continue the newest unresolved SMS case, else reopen the newest one."""
        phone = PHONES[pick % len(PHONES)]
        owner, contact = self.owner_of(phone), self.redis.hget(self.keys.phone_index, phone)
        mine = sorted(
            (cid for cid, c in before.cases.items()
             if c["ch"] == "sms" and contact == c["ct"].encode()),
            reverse=True,
        )  # fmt: skip
        msg = InboundMessage(channel="sms", dedupe_scope="prop", delivery_id=None,
                             sender_phone=phone, text="again", threading="sms")  # fmt: skip
        result = self.run(self.intake.submit(self.config, msg))
        open_ = [cid for cid in mine if before.cases[cid]["st"] != "resolved"]
        if open_:
            assert (result.case_id, result.status) == (open_[0], before.cases[open_[0]]["st"])
        elif mine:
            assert result.case_id == mine[0]
            self.check_reopen(before, mine[0], result.assignee)
        else:
            assert result.assignee == expected_pick(before, "s1", "sms", owner, set())

    def check_reopen(self, before: Snapshot, cid: int, assignee: str | None) -> None:
        case = before.cases[cid]
        last = case.get("la")
        if last in before.members[case["sv"]] and before.has_room(last, case["ch"]):
            assert assignee == last, "a reopened case goes back to its last assignee"
        else:
            owner = self.case_owner(case)
            assert assignee == expected_pick(before, case["sv"], case["ch"], owner, set())

    # ---- operators ----

    def presence(self, _snap: Snapshot, pick: int, _flag: bool, op: str, _svc: str) -> None:
        presence = ("available", "available", "away", "offline")[pick % 4]
        self.run(self.scripts.presence(_now(), op, presence))
        if presence != "available":
            offered = [c for c in self.snap().cases.values() if c.get("as") == op and "of" in c]
            assert not offered, "away/offline keeps no open offer"

    def raise_capacity(self, snap: Snapshot, _pick: int, _flag: bool, _op: str, _s: str) -> None:
        """A reload that raises capacities: whoever gained room drains the queues at once."""
        if not self.raised and len(snap.by_status["queued"]) >= 3:  # only when it matters
            self.run(
                sync.apply(self.scripts, self.raised_config.routing, self.raised_config.version)
            )
            self.config, self.raised = self.raised_config, True

    # ---- case actions ----

    def accept(self, snap: Snapshot, cid: int, by_admin: bool, _op: str, _svc: str) -> None:
        case = snap.cases[cid]
        owner = self.case_owner(case)
        actor = "" if by_admin else case["as"]
        result = self.run(self.scripts.accept(_now(), cid, actor, case.get("of", "")))
        assert result["status"] == "in_progress"
        expected_owner = owner or (case["as"] if case["sv"] in STICKY else None)
        assert self.case_owner(case) == expected_owner, "the first to accept owns the contact"

    def give_back(self, snap: Snapshot, cid: int, expire: bool, _op: str, _svc: str) -> None:
        """Decline, or let the offer expire: the next eligible operator, never the same one."""
        case = snap.cases[cid]
        if expire and "of" not in case:
            return
        op, ch = case["as"], case["ch"]
        if expire:
            due = int(case["oe"])
            self.run(self.scripts.expire(due - 1, cid))  # not due yet: nothing happens
            assert self.snap() == snap, "an offer that is not due yet was touched"
            assert self.run(self.scripts.expire(due + 1, cid)) == {"expired": True}
        else:
            self.run(self.scripts.decline(_now(), cid, op))
        after = copy.deepcopy(snap)
        after.ops[op]["lt"] = str(snap.load(op) - 1)
        after.ops[op][f"l:{ch}"] = str(snap.load(op, ch) - 1)
        expected = expected_pick(after, case["sv"], ch, self.case_owner(case),
                                 snap.excluded[cid] | {op})  # fmt: skip
        assert self.snap().cases[cid].get("as") == expected
        if "of" in case:
            self.refused(lambda: self.scripts.accept(_now(), cid, op, case["of"]), "offer_expired")

    def pause(self, snap: Snapshot, cid: int, with_until: bool, _op: str, _svc: str) -> None:
        until = _now() + 3_600_000 if with_until else None
        op = snap.cases[cid]["as"]
        result = self.run(self.scripts.pause(_now(), cid, op, "customer", until))
        assert result["status"] == "waiting"

    def resume(self, snap: Snapshot, cid: int, by_timer: bool, _op: str, _svc: str) -> None:
        case = snap.cases[cid]
        op, ch = case["as"], case["ch"]
        room = snap.load(op) < snap.capacity(op) and snap.load(op, ch) < snap.capacity(op, ch)
        actor = "" if by_timer else op
        if not room and not by_timer:
            self.refused(lambda: self.scripts.resume(_now(), cid, actor), "at_capacity")
            return
        result = self.run(self.scripts.resume(_now(), cid, actor, by_timer=by_timer))
        if room:
            assert result["status"] == "in_progress"
        else:  # the timer hands it to the router when its operator is full
            expected = expected_pick(snap, case["sv"], ch, self.case_owner(case),
                                     snap.excluded[cid])  # fmt: skip
            assert self.snap().cases[cid].get("as") == expected

    def resolve(self, snap: Snapshot, cid: int, by_admin: bool, _op: str, _svc: str) -> None:
        case = snap.cases[cid]
        actor = "" if by_admin or case["st"] == "queued" else case["as"]
        assert self.run(self.scripts.resolve(_now(), cid, actor))["status"] == "resolved"

    def to_service(self, snap: Snapshot, cid: int, _flag: bool, _op: str, svc: str) -> None:
        case = snap.cases[cid]
        actor = "" if case["st"] == "queued" else case["as"]
        after = copy.deepcopy(snap)
        if case["st"] in ("assigned", "in_progress"):
            for key in ("lt", f"l:{case['ch']}"):
                after.ops[case["as"]][key] = str(int(after.ops[case["as"]][key]) - 1)
        self.run(self.scripts.transfer(_now(), cid, actor, "service", svc, False))
        expected = expected_pick(after, svc, case["ch"], self.case_owner(case), set())
        now = self.snap().cases[cid]
        assert (now["sv"], now.get("as")) == (svc, expected)

    def to_operator(self, snap: Snapshot, cid: int, by_admin: bool, target: str, _s: str) -> None:
        if target in snap.excluded[cid]:
            return
        case = snap.cases[cid]
        actor = "" if by_admin or case["st"] == "queued" else case["as"]
        ch = case["ch"]
        room = snap.load(target) < snap.capacity(target) and (
            snap.load(target, ch) < snap.capacity(target, ch)
        )
        if target == case.get("as"):
            self.refused(lambda: self.scripts.transfer(
                _now(), cid, actor, "operator", target, False), "already_assigned")  # fmt: skip
        elif not room:
            self.refused(lambda: self.scripts.transfer(
                _now(), cid, actor, "operator", target, False), "at_capacity")  # fmt: skip
        else:
            self.run(self.scripts.transfer(_now(), cid, actor, "operator", target, False))
            assert self.snap().cases[cid]["as"] == target

    def intrude(self, snap: Snapshot, cid: int, _flag: bool, intruder: str, _svc: str) -> None:
        """Someone else's case: refused, nothing changes."""
        if snap.cases[cid]["as"] == intruder:
            return
        self.refused(lambda: self.scripts.resolve(_now(), cid, intruder), "not_yours")
        self.refused(lambda: self.scripts.pause(_now(), cid, intruder, "x", None), "not_yours")

    @invariant()
    def consistent(self) -> None:
        self.state = self.snap()
        found = problems_in(self.state)
        assert not found, "routing invariants broken:\n" + "\n".join(found)


def test_routing_state_machine(redis_url: str, tmp_path: Path) -> None:
    configs = []
    for name, caps in (("base", BASE), ("raised", RAISED)):
        path = tmp_path / f"{name}.toml"
        path.write_text(CONFIG.format(**caps))
        configs.append(load_config(str(path), env={}))
    run_state_machine_as_test(
        lambda: RoutingMachine(redis_url, (configs[0], configs[1])),
        settings=settings(
            max_examples=int(os.environ.get("ROUTING_EXAMPLES", "40")),
            stateful_step_count=40,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
