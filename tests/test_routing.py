"""Routing through the running gateway (SPEC sections 4 and 5): fairness, drain, offers, presence,
sticky owners, explain, pause/resume, transfer and reopen."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import redis
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from gateway.config import Config
from routing.keys import Keys
from routing.scripts import Scripts
from tests.conftest import ADMIN, GatewayFactory, signed_sms
from tests.helpers import TYPES_AND_SLAS
from tests.routing_invariants import assert_invariants, snapshot

WriteConfig = Callable[[str], Config]

HEAD = (
    """
[gateway]
admin_token = "change-me-admin"
default_region = "RU"
[cases]
reopen_within = "{reopen}"
"""
    + TYPES_AND_SLAS
    + """[channels.sms]
secret = "sample-sms-secret"
"""
)
# SMS to these numbers get these priorities (rules); anything else is a "request" (2).
URGENT, LOW, BILLING = "+74950000011", "+74950000013", "+74950000099"
RULES = f"""
[[rules]]
when = {{ channel = "sms", to = "{URGENT}" }}
type = "complaint"
[[rules]]
when = {{ channel = "sms", to = "{LOW}" }}
type = "consultation"
"""


def config_text(
    operators: dict[str, str],
    services: dict[str, tuple[list[str], bool]],
    *,
    offers: str = "",
    reopen: str = "7d",
    rules: str = RULES,
) -> str:
    """A config: operator id -> capacity table body; service id -> (members, sticky_owner)."""
    parts = [HEAD.format(reopen=reopen)]
    for op, capacity in operators.items():
        parts.append(f'[[operators]]\nid = "{op}"\ntoken = "token-{op}"\n')
        parts.append(f"capacity = {{ {capacity} }}\n")
    for svc, (members, sticky) in services.items():
        listed = ", ".join(f'"{m}"' for m in members)
        parts.append(f'[[services]]\nid = "{svc}"\noperators = [{listed}]\n')
        parts.append(f"sticky_owner = {str(sticky).lower()}\n")
    parts.append(rules)
    default = next(iter(services))
    parts.append(f'[routing]\ndefault_service = "{default}"\noffer_timeout = {{ {offers} }}\n')
    return "".join(parts)


def as_op(op: str) -> dict[str, str]:
    return {"Authorization": f"Bearer token-{op}"}


def phone(n: int) -> str:
    return f"+7916{n:07d}"


async def sms(client: TestClient, sender: str, to: str = "+74950000000", text: str = "hi") -> int:
    payload = {"id": uuid.uuid4().hex, "from": sender, "to": to, "text": text}
    resp = await client.post("/hooks/sms", **signed_sms(payload))
    assert resp.status == 200, await resp.text()
    return int((await resp.json())["case_id"])


async def manual(client: TestClient, sender: str, **extra: Any) -> dict[str, Any]:
    """POST /api/cases: a phone-channel case (offers apply when phone has a timeout)."""
    body = {"contact": {"phone": sender}, "text": "call me", **extra}
    resp = await client.post("/api/cases", json=body, headers=ADMIN)
    assert resp.status == 201, await resp.text()
    case: dict[str, Any] = await resp.json()
    return case


async def case(client: TestClient, case_id: int) -> dict[str, Any]:
    resp = await client.get(f"/api/cases/{case_id}", headers=ADMIN)
    assert resp.status == 200
    found: dict[str, Any] = await resp.json()
    return found


async def act(
    client: TestClient,
    case_id: int,
    action: str,
    headers: dict[str, str] = ADMIN,
    body: dict[str, Any] | None = None,
    status: int = 200,
) -> dict[str, Any]:
    resp = await client.post(f"/api/cases/{case_id}/{action}", json=body or {}, headers=headers)
    answer: dict[str, Any] = await resp.json()
    assert resp.status == status, answer
    return answer


async def presence(client: TestClient, op: str, value: str) -> None:
    resp = await client.put(f"/api/operators/{op}/presence", json={"presence": value},
                            headers=as_op(op))  # fmt: skip
    assert resp.status == 200, await resp.text()


async def all_available(client: TestClient, ops: list[str]) -> None:
    for op in ops:
        await presence(client, op, "available")


async def operator(client: TestClient, op: str) -> dict[str, Any]:
    resp = await client.get(f"/api/operators/{op}", headers=as_op(op))
    assert resp.status == 200
    found: dict[str, Any] = await resp.json()
    return found


async def loads(client: TestClient) -> dict[str, int]:
    queues = await (await client.get("/api/admin/queues", headers=ADMIN)).json()
    return {op: row["load"] for op, row in queues["operators"].items()}


async def wait_for_case(
    client: TestClient, case_id: int, check: Callable[[dict[str, Any]], bool], timeout: float = 5
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = await case(client, case_id)
        if check(found):
            return found
        assert time.monotonic() < deadline, f"case {case_id} stayed {found}"
        await asyncio.sleep(0.05)


def offers_made(found: dict[str, Any]) -> list[str]:
    return [
        e["operator"] for e in found["timeline"] if e["kind"] == "assignment" and "offer_id" in e
    ]


# ---- fairness ----


async def test_equal_capacities_share_300_cases_within_one(
    make_gateway: GatewayFactory, write_config: WriteConfig, keys: Keys, sync_redis: redis.Redis
) -> None:
    ops = ["a", "b", "c"]
    config = config_text(dict.fromkeys(ops, "total = 10"), {"support": (ops, False)})
    client = await make_gateway(write_config(config))
    await all_available(client, ops)
    counts: Counter[str] = Counter()
    open_cases: list[int] = []
    for n in range(300):
        case_id = await sms(client, phone(n))
        counts[(await case(client, case_id))["assignee"]] += 1
        open_cases.append(case_id)
        if len(open_cases) == 5:  # resolve as we go, oldest first, so capacity never caps
            await act(client, open_cases.pop(0), "resolve")
    assert sum(counts.values()) == 300 and set(counts) == set(ops), counts
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    assert_invariants(sync_redis, keys.prefix)


async def test_capacities_2_4_6_keep_utilisations_within_one_case(
    make_gateway: GatewayFactory, write_config: WriteConfig, keys: Keys, sync_redis: redis.Redis
) -> None:
    capacity = {"a": 2, "b": 4, "c": 6}
    ops = sorted(capacity)
    config = config_text({op: f"total = {n}" for op, n in capacity.items()},
                         {"support": (ops, False)})  # fmt: skip
    client = await make_gateway(write_config(config))
    await all_available(client, ops)

    def util(load: dict[str, int], op: str) -> Fraction:
        return Fraction(load[op], capacity[op])

    open_cases: list[int] = []
    load = await loads(client)
    for n in range(100):
        if n >= 12 and n % 3 == 0:  # after filling up, slow resolution: one for three arrivals
            await act(client, open_cases.pop(0), "resolve")
            load = await loads(client)
        open_cases.append(await sms(client, phone(n)))
        before, load = load, await loads(client)
        got = [op for op in ops if load[op] > before[op]]
        if not got:
            continue  # everyone full: queued
        (k,) = got
        with_room = [op for op in ops if before[op] < capacity[op]]
        assert all(util(before, k) <= util(before, j) for j in with_room), (n, before, k)
        for j in ops:  # the receiver ends at most one of its own cases above anyone
            assert util(load, k) - util(load, j) <= Fraction(1, capacity[k]), (n, load)
        if n < 12:  # filling with no resolution: that holds for every pair
            for i in ops:
                for j in ops:
                    assert util(load, i) - util(load, j) <= Fraction(1, capacity[i]), (n, load)
        if n == 11:
            assert load == capacity, "twelve cases fill 2/4/6 exactly"
    assert_invariants(sync_redis, keys.prefix)


# ---- drain ----


async def test_resolving_assigns_best_queued_case_within_the_same_request(
    make_gateway: GatewayFactory, write_config: WriteConfig, keys: Keys, sync_redis: redis.Redis
) -> None:
    ops = ["a", "b"]
    config = config_text(dict.fromkeys(ops, "total = 2"), {"support": (ops, False)})
    client = await make_gateway(write_config(config))
    await all_available(client, ops)
    held = {op: [] for op in ops}  # type: dict[str, list[int]]
    for n in range(4):
        case_id = await sms(client, phone(n))
        held[(await case(client, case_id))["assignee"]].append(case_id)
    queued = []
    for n in range(20):
        to = (URGENT, LOW, "+74950000000", LOW, URGENT)[n % 5]
        queued.append(await sms(client, phone(100 + n), to=to))
        await asyncio.sleep(0.002)  # distinct arrival milliseconds
    rows = [await case(client, cid) for cid in queued]
    assert all(r["status"] == "queued" for r in rows)
    best_first = [r["id"] for r in sorted(rows, key=lambda r: (r["priority"], r["created_at"]))]
    assert len({r["priority"] for r in rows}) == 3
    served = []
    for turn in range(20):
        op = ops[turn % 2]
        await act(client, held[op].pop(0), "resolve")
        # The very next read already shows it: no polling, nothing left for later.
        found = await case(client, best_first[turn])
        assert (found["status"], found["assignee"]) == ("assigned", op), (turn, found)
        held[op].append(found["id"])
        served.append(found["id"])
    assert served == best_first
    assert_invariants(sync_redis, keys.prefix)


async def test_becoming_available_drains_until_full(
    make_gateway: GatewayFactory, write_config: WriteConfig, keys: Keys, sync_redis: redis.Redis
) -> None:
    config = config_text({"z": "total = 3, sms = 3"}, {"support": (["z"], False)})
    client = await make_gateway(write_config(config))
    queued = [await sms(client, phone(n), to=URGENT if n == 4 else LOW) for n in range(5)]
    assert {(await case(client, c))["status"] for c in queued} == {"queued"}
    await presence(client, "z", "available")
    mine = sorted(c["id"] for c in (await operator(client, "z"))["cases"])
    assert mine == sorted([queued[4], queued[0], queued[1]])  # urgent first, then arrival
    assert (await operator(client, "z"))["load"]["total"] == 3
    assert_invariants(sync_redis, keys.prefix)


# ---- offers ----

OFFER_OPS = {op: "total = 5, phone = 2" for op in ("a", "b", "c")}


async def offer_gateway(make_gateway: GatewayFactory, write_config: WriteConfig) -> TestClient:
    text = config_text(OFFER_OPS, {"support": (sorted(OFFER_OPS), False)}, offers='phone = "1s"')
    client = await make_gateway(write_config(text))
    await all_available(client, sorted(OFFER_OPS))
    return client


async def test_expired_offer_goes_to_next_operator_and_late_accept_is_409(
    make_gateway: GatewayFactory, write_config: WriteConfig, keys: Keys, sync_redis: redis.Redis
) -> None:
    client = await offer_gateway(make_gateway, write_config)
    first = await manual(client, phone(1))
    assert (first["status"], first["assignee"]) == ("assigned", "a")
    assert first["offer"]["operator"] == "a" and first["offer"]["expires_at"]
    # The sweeper (a lease-held background task in the app) expires it after about 1 s.
    found = await wait_for_case(client, first["id"], lambda c: c["assignee"] != "a", timeout=4)
    assert (found["status"], found["assignee"]) == ("assigned", "b")
    assert found["offer"]["offer_id"] != first["offer"]["offer_id"]
    late = await act(client, first["id"], "accept", as_op("a"),
                     {"offer_id": first["offer"]["offer_id"]}, status=409)  # fmt: skip
    assert late["error"]["code"] == "offer_expired"
    accepted = await act(client, first["id"], "accept", as_op("b"),
                         {"offer_id": found["offer"]["offer_id"]})  # fmt: skip
    assert accepted["status"] == "in_progress" and accepted["accepted_at"]
    assert accepted["offer"] is None
    timeline = (await case(client, first["id"]))["timeline"]
    reasons = [(e["operator"], e.get("reason")) for e in timeline if e["kind"] == "assignment"]
    assert reasons == [("a", None), ("a", "expired"), ("b", None)]
    assert_invariants(sync_redis, keys.prefix)


async def test_accept_after_expiry_but_before_the_sweeper_is_409(
    make_gateway: GatewayFactory, write_config: WriteConfig, redis_url: str, keys: Keys
) -> None:
    client = await offer_gateway(make_gateway, write_config)
    first = await manual(client, phone(1))
    scripts = Scripts(aioredis.Redis.from_url(redis_url), keys)
    due = int(datetime.fromisoformat(first["offer"]["expires_at"]).timestamp() * 1000)
    try:
        await scripts.accept(due, first["id"], "a", first["offer"]["offer_id"])
    except Exception as error:
        assert getattr(error, "code", None) == "offer_expired"
    else:
        raise AssertionError("an accept at the expiry moment must be late")
    assert (await case(client, first["id"]))["assignee"] == "b"


async def test_declining_operators_are_never_offered_the_case_again(
    make_gateway: GatewayFactory, write_config: WriteConfig, keys: Keys, sync_redis: redis.Redis
) -> None:
    client = await offer_gateway(make_gateway, write_config)
    first = await manual(client, phone(1))
    for op, after in (("a", "b"), ("b", "c")):
        answer = await act(client, first["id"], "decline", as_op(op))
        assert (answer["status"], answer["assignee"]) == ("assigned", after)
    answer = await act(client, first["id"], "decline", as_op("c"))
    assert (answer["status"], answer["assignee"]) == ("queued", None)
    # Everyone has room, yet nobody who declined gets it back: not on return, not on a drain.
    for op in ("a", "b", "c"):
        await presence(client, op, "away")
        await presence(client, op, "available")
    second = await manual(client, phone(2))
    assert second["assignee"] == "a"
    await act(client, second["id"], "resolve", as_op("a"))
    found = await case(client, first["id"])
    assert found["status"] == "queued"
    assert offers_made(found) == ["a", "b", "c"]
    assert_invariants(sync_redis, keys.prefix)


async def test_away_and_offline_operators_get_nothing_new_and_lose_open_offers(
    make_gateway: GatewayFactory, write_config: WriteConfig, keys: Keys, sync_redis: redis.Redis
) -> None:
    client = await offer_gateway(make_gateway, write_config)
    kept = await manual(client, phone(1))
    await act(client, kept["id"], "accept", as_op("a"), {"offer_id": kept["offer"]["offer_id"]})
    others = [await manual(client, phone(n)) for n in (2, 3)]
    assert [c["assignee"] for c in others] == ["b", "c"]
    offered = await manual(client, phone(4))
    assert offered["assignee"] == "a"
    await presence(client, "a", "away")
    moved = await case(client, offered["id"])
    assert (moved["status"], moved["assignee"]) == ("assigned", "b")
    history = [(e["operator"], e.get("reason")) for e in moved["timeline"]
               if e["kind"] == "assignment"]  # fmt: skip
    assert history == [("a", None), ("a", "revoked"), ("b", None)]
    state = await operator(client, "a")
    assert state["presence"] == "away"
    assert [c["id"] for c in state["cases"]] == [kept["id"]]  # accepted work stays
    for value in ("away", "offline"):
        await presence(client, "a", value)
        for n in range(3):
            fresh = await manual(client, phone(10 + n))
            assert fresh["assignee"] != "a"
            await act(client, fresh["id"], "resolve")
    assert (await case(client, kept["id"]))["status"] == "in_progress"
    assert_invariants(sync_redis, keys.prefix)


# ---- sticky owner ----


async def test_sticky_owner_gets_the_case_when_eligible_else_the_least_loaded(
    make_gateway: GatewayFactory, write_config: WriteConfig, keys: Keys, sync_redis: redis.Redis
) -> None:
    ops = ["a", "b", "c"]
    text = config_text(dict.fromkeys(ops, "total = 3"),
                       {"support": (ops, True), "billing": (ops, False)})  # fmt: skip
    client = await make_gateway(write_config(text))
    await all_available(client, ops)
    customer = phone(1)
    first = await manual(client, customer)
    assert first["assignee"] == "a" and first["contact"]["owner"] is None
    await act(client, first["id"], "accept", as_op("a"))
    # No PATCH needed: the first operator to accept in a sticky service becomes the owner.
    assert (await case(client, first["id"]))["contact"]["owner"] == "a"
    extra = await manual(client, phone(2))  # b; now a=1, b=1, c=0
    assert extra["assignee"] == "b"
    await act(client, extra["id"], "transfer", body={"operator": "a"})  # a=2, b=0, c=0
    assert (await manual(client, customer))["assignee"] == "a", "owner first, though busiest"
    assert (await manual(client, customer, service="billing"))["assignee"] == "c", "not sticky"
    assert (await loads(client)) == {"a": 3, "b": 0, "c": 1}
    assert (await manual(client, customer))["assignee"] == "b", "owner full: least loaded"
    await act(client, first["id"], "resolve", as_op("a"))
    await presence(client, "a", "offline")
    assert (await loads(client)) == {"a": 2, "b": 1, "c": 1}
    # Equal loads: the one whose last assignment is older.
    assert (await manual(client, customer))["assignee"] == "c", "owner offline: least loaded"
    # Owner changes by PATCH: the admin or the current owner only.
    contact_id = first["contact"]["id"]
    resp = await client.patch(f"/api/contacts/{contact_id}", json={"owner": "b"},
                              headers=as_op("b"))  # fmt: skip
    assert resp.status == 403
    resp = await client.patch(f"/api/contacts/{contact_id}", json={"owner": "c"}, headers=ADMIN)
    assert resp.status == 200 and (await resp.json())["owner"] == "c"
    assert (await loads(client)) == {"a": 2, "b": 1, "c": 2}
    assert (await manual(client, customer))["assignee"] == "c", "the new owner, though busier"
    assert_invariants(sync_redis, keys.prefix)


# ---- explain ----


async def test_explain_names_the_rule_and_every_reason_without_changing_anything(
    make_gateway: GatewayFactory,
    write_config: WriteConfig,
    keys: Keys,
    sync_redis: redis.Redis,
    redis_url: str,
) -> None:
    rules = (
        RULES
        + f"""
[[rules]]
when = {{ channel = "sms", to = "{BILLING}" }}
service = "billing"
type = "complaint"
"""
    )
    ops = {"a": "total = 1", "b": "total = 2", "c": "total = 2", "d": "total = 2"}
    text = config_text(ops, {"support": (["a", "b"], False), "billing": (["a", "b", "c"], True)},
                       rules=rules)  # fmt: skip
    client = await make_gateway(write_config(text))
    await all_available(client, ["a", "b", "d"])  # c stays offline
    busy = await sms(client, phone(1))  # a is now full
    assert (await case(client, busy))["assignee"] == "a"
    body = {"channel": "sms", "from": "8 916 000-00-02", "to": "+7 495 000-00-99", "text": "x"}
    before = snapshot(sync_redis, keys.prefix)
    resp = await client.post("/api/admin/explain", json=body, headers=ADMIN)
    assert resp.status == 200
    answer = await resp.json()
    assert snapshot(sync_redis, keys.prefix) == before, "explain changed routing state"
    assert (answer["service"], answer["type"], answer["priority"]) == ("billing", "complaint", 1)
    assert answer["rule"] == "rules[2]"
    reasons = {c["operator"]: (c["eligible"], c["reason"]) for c in answer["candidates"]}
    assert reasons == {
        "a": (False, "at_capacity"),
        "b": (True, None),
        "c": (False, "offline"),
        "d": (False, "not_member"),
    }
    row_a = next(c for c in answer["candidates"] if c["operator"] == "a")
    assert row_a["load"]["total"] == 1 and row_a["capacity"]["total"] == 1
    assert answer["decision"]["operator"] == "b"
    # The decision is what routing then does.
    routed = await sms(client, "+79160000002", to=BILLING)
    assert (await case(client, routed))["assignee"] == "b"
    # `excluded` is per case: explain the case b just declined.
    await act(client, routed, "decline", as_op("b"))
    resp = await client.post("/api/admin/explain", json={"case_id": routed}, headers=ADMIN)
    found = await resp.json()
    assert (found["case_id"], found["status"], found["service"]) == (routed, "queued", "billing")
    rows = {r["operator"]: (r["eligible"], r["reason"]) for r in found["candidates"]}
    assert rows == {
        "a": (False, "at_capacity"),
        "b": (False, "excluded"),
        "c": (False, "offline"),
        "d": (False, "not_member"),
    }
    assert found["decision"] == {"operator": None, "queued": True}
    missing = await client.post("/api/admin/explain", json={"case_id": 999}, headers=ADMIN)
    assert missing.status == 404


# ---- pause, resume, transfer ----


async def test_waiting_is_not_load_and_resume_needs_room(
    make_gateway: GatewayFactory, write_config: WriteConfig, keys: Keys, sync_redis: redis.Redis
) -> None:
    text = config_text({"a": "total = 1"}, {"support": (["a"], False)})
    client = await make_gateway(write_config(text))
    await presence(client, "a", "available")
    first, second = await sms(client, phone(1)), await sms(client, phone(2))
    assert (await case(client, second))["status"] == "queued"
    await act(client, first, "accept", as_op("a"))
    paused = await act(client, first, "pause", as_op("a"), {"reason": "waiting for customer"})
    assert paused["status"] == "waiting" and paused["sla"]["paused"]
    assert (await case(client, second))["assignee"] == "a", "pausing made room at once"
    state = await operator(client, "a")
    assert state["load"]["total"] == 1
    assert sorted(c["id"] for c in state["cases"]) == [first, second]
    refused = await act(client, first, "resume", as_op("a"), status=409)
    assert refused["error"]["code"] == "at_capacity"
    still = await case(client, first)
    assert still["status"] == "waiting" and still["sla"] == paused["sla"], "refusal kept it all"
    await act(client, second, "resolve", as_op("a"))
    resumed = await act(client, first, "resume", as_op("a"))
    assert resumed["status"] == "in_progress"
    due = datetime.fromisoformat(resumed["sla"]["resolution_due"])
    assert due > datetime.fromisoformat(paused["sla"]["resolution_due"]), "clock was stopped"
    # With `until`, the timer resumes it by itself.
    until = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    await act(client, first, "pause", as_op("a"), {"reason": "call back", "until": until})
    await wait_for_case(client, first, lambda c: c["status"] == "in_progress", timeout=4)
    wrong = await act(client, first, "resume", as_op("a"), status=409)
    assert wrong["error"]["code"] == "not_waiting"
    assert_invariants(sync_redis, keys.prefix)


async def test_transfer_beyond_capacity_only_by_admin_and_to_a_service_reroutes(
    make_gateway: GatewayFactory, write_config: WriteConfig, keys: Keys, sync_redis: redis.Redis
) -> None:
    ops = {"a": "total = 1", "b": "total = 1", "c": "total = 2"}
    text = config_text(ops, {"support": (["a", "b"], False), "billing": (["c"], False)})
    client = await make_gateway(write_config(text))
    await all_available(client, sorted(ops))
    mine, theirs = await sms(client, phone(1)), await sms(client, phone(2))
    assert [(await case(client, c))["assignee"] for c in (mine, theirs)] == ["a", "b"]
    refused = await act(client, mine, "transfer", as_op("a"), {"operator": "b"}, status=409)
    assert refused["error"]["code"] == "at_capacity"
    forbidden = await act(client, theirs, "transfer", as_op("a"), {"operator": "a"}, status=403)
    assert forbidden["error"]["code"] == "not_yours"
    moved = await act(client, mine, "transfer", ADMIN, {"operator": "b"})
    assert moved["assignee"] == "b"
    assert (await operator(client, "b"))["load"]["total"] == 2  # over capacity, by the admin
    waiting = await sms(client, phone(3))
    assert (await case(client, waiting))["assignee"] == "a", "b, over capacity, gets nothing"
    rerouted = await act(client, theirs, "transfer", as_op("b"), {"service": "billing"})
    assert (rerouted["service"], rerouted["assignee"]) == ("billing", "c")
    assert (await operator(client, "b"))["load"]["total"] == 1
    assert_invariants(sync_redis, keys.prefix, check_exclusions=False)


# ---- SMS threading and reopen ----


async def test_sms_continues_open_case_and_reopens_to_last_assignee(
    make_gateway: GatewayFactory, write_config: WriteConfig, keys: Keys, sync_redis: redis.Redis
) -> None:
    ops = ["a", "b"]
    text = config_text(dict.fromkeys(ops, "total = 5"), {"support": (ops, False)})
    client = await make_gateway(write_config(text))
    await all_available(client, ops)
    customer = phone(1)
    first = await sms(client, customer)
    assert await sms(client, customer, text="more") == first, "SMS continues the open case"
    other = await sms(client, phone(2))
    extra = await sms(client, phone(3))
    assert [(await case(client, c))["assignee"] for c in (first, other, extra)] == ["a", "b", "a"]
    await act(client, first, "resolve", as_op("a"))
    await act(client, other, "resolve", as_op("b"))  # now a=1, b=0
    assert await sms(client, customer, text="back again") == first
    reopened = await case(client, first)
    assert (reopened["status"], reopened["assignee"]) == ("assigned", "a"), "last assignee"
    assert reopened["resolved_at"] is None
    await act(client, first, "resolve")
    await presence(client, "a", "offline")
    assert await sms(client, customer, text="and again") == first
    assert (await case(client, first))["assignee"] == "b", "last assignee offline: routed"
    assert_invariants(sync_redis, keys.prefix)


async def test_sms_after_the_reopen_window_opens_a_related_case(
    make_gateway: GatewayFactory, write_config: WriteConfig
) -> None:
    text = config_text({"a": "total = 5"}, {"support": (["a"], False)}, reopen="1s")
    client = await make_gateway(write_config(text))
    await presence(client, "a", "available")
    first = await sms(client, phone(1))
    await act(client, first, "resolve", as_op("a"))
    await asyncio.sleep(1.1)
    later = await sms(client, phone(1), text="hello again")
    assert later != first
    found = await case(client, later)
    assert (found["related_case"], found["assignee"]) == (first, "a")
    assert (await case(client, first))["status"] == "resolved"
