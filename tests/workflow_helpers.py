"""The case-workflow tests' config (catalogue, required fields, a triage line), an injected
clock, a gateway starter and small API helpers; and a classify worker for other processes."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from gateway.config import load_config
from gateway.http.app import build_app
from gateway.runtime.clock import SettableClock
from gateway.workflow import catalogue_json
from routing.deadlines import category_dues
from routing.errors import RoutingRefused
from routing.keys import Keys
from routing.scripts import Scripts
from tests.conftest import ADMIN, signed_sms
from tests.helpers import TYPES_AND_SLAS

LINE = "+74950000077"  # SMS to this number go to the triage line
BILLING = "+74950000078"  # ... to billing, which requires fields before resolve
ORDERS = "+74950000079"  # ... to orders, which requires a theme before accept
RETURNING = "+74950000080"  # ... to billing by a rule with `return_to = "b"`
CLAIMS = "+74950000081"  # ... to claims, whose `return_to = "s1"` (no rule's)
CALLS = "+74950000082"  # calls to it (and every chat): claims, with `return_to = "b"`
START_MS = 1_804_000_000_000  # 2027-03-01, a fixed start for the injected clock
MINUTE = 60_000

CONFIG = (
    """
[gateway]
admin_token = "change-me-admin"
default_region = "RU"
[cases]
edit_window = "5m"
"""
    + TYPES_AND_SLAS
    + """
[[themes]]
id = "tariffs"
types = ["consultation", "request", "complaint"]
subthemes = ["change", "prices"]
product_required = true
[[themes]]
id = "delivery"
types = ["request", "complaint"]
subthemes = ["late", "damaged"]
[[products]]
id = "unlimited"
themes = ["tariffs"]
[[products]]
id = "courier"
themes = ["delivery"]
[channels.sms]
secret = "sample-sms-secret"
[channels.phone]
secret = "sample-phone-secret"
[channels.chat]
allowed_origins = ["http://127.0.0.1:8080"]
{operators}
[[services]]
id = "support"
operators = ["a", "b"]
fields = [{{ id = "contract", label = "Contract", kind = "text" }},
          {{ id = "amount", label = "Amount", kind = "number" }},
          {{ id = "method", label = "Method", kind = "choice", choices = ["card", "cash"] }},
          {{ id = "due", label = "Due", kind = "date" }},
          {{ id = "callback", label = "Call back on", kind = "phone" }}]
[[services]]
id = "billing"
operators = ["c", "d"]
required_fields = ["theme", "subtheme"]
required_for = "resolve"
fields = [{{ id = "contract", label = "Contract", kind = "text", required = true }}]
[[services]]
id = "orders"
operators = ["a"]
required_fields = ["theme"]
required_for = "accept"
[[services]]
id = "line"
operators = ["t1", "t2"]
triage = true
[[services]]
id = "sales"
operators = ["s1", "s2", "s3"]
[[services]]
id = "claims"
operators = ["c", "d"]
required_fields = ["theme"]
return_to = "s1"
[[rules]]
when = {{ channel = "sms", to = "{line}" }}
service = "line"
[[rules]]
when = {{ channel = "sms", to = "{billing}" }}
service = "billing"
[[rules]]
when = {{ channel = "sms", to = "{orders}" }}
service = "orders"
[[rules]]
when = {{ channel = "sms", to = "{returning}" }}
service = "billing"
return_to = "b"
[[rules]]
when = {{ channel = "sms", to = "{claims}" }}
service = "claims"
[[rules]]
when = {{ channel = "phone", to = "{calls}" }}
service = "claims"
return_to = "b"
[[rules]]
when = {{ channel = "chat" }}
service = "claims"
return_to = "b"
[routing]
default_service = "support"
"""
)
OPERATORS = {"a": 5, "b": 5, "c": 5, "d": 5, "t1": 2, "t2": 2, "s1": 5, "s2": 5, "s3": 5}


def config_text(capacities: dict[str, int] = OPERATORS) -> str:
    operators = "".join(
        f'[[operators]]\nid = "{op}"\ntoken = "token-{op}"\ncapacity = {{ total = {n} }}\n'
        for op, n in capacities.items()
    )
    return CONFIG.format(
        operators=operators, line=LINE, billing=BILLING, orders=ORDERS, returning=RETURNING,
        claims=CLAIMS, calls=CALLS,
    )  # fmt: skip


def as_op(op: str) -> dict[str, str]:
    return {"Authorization": f"Bearer token-{op}"}


Start = Callable[[], Awaitable[TestClient]]


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START_MS)


@pytest.fixture
def start(
    aiohttp_client: Any, redis_url: str, keys: Keys, clock: SettableClock, tmp_path: Path
) -> Start:
    async def run() -> TestClient:
        path = tmp_path / "config.toml"
        path.write_text(config_text())
        app = build_app(load_config(str(path), env={}), redis_url, keys, clock=clock)
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
        await call(client, "PUT", f"/api/operators/{op}/presence", {"presence": "available"})


async def sms(client: TestClient, to: str = "+74950000000", sender: str = "") -> int:
    sender = sender or f"+7916{random.randint(1_000_000, 9_999_999)}"
    payload = {"id": uuid.uuid4().hex, "from": sender, "to": to, "text": "help"}
    resp = await client.post("/hooks/sms", **signed_sms(payload))
    assert resp.status == 200, await resp.text()
    return int((await resp.json())["case_id"])


async def case(client: TestClient, case_id: int) -> dict[str, Any]:
    found: dict[str, Any] = await call(client, "GET", f"/api/cases/{case_id}")
    return found


def changes(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in found["timeline"] if e["kind"] == "change"]


def event_types(sync_redis: redis.Redis, keys: Keys, op: str) -> list[str]:
    return [f[b"type"].decode() for _, f in sync_redis.xrange(keys.events(op))]


# ---- the classify worker: one OS process classifying every case it can, as the admin ----


@dataclass
class ClassifyStats:
    classified: list[int]
    refused: int


def run_classifier(url: str, prefix: str, config_path: str, seed: int, ids: list[int]) -> Any:
    return asyncio.run(_classify_all(url, prefix, config_path, seed, ids))


async def _classify_all(
    url: str, prefix: str, config_path: str, seed: int, ids: list[int]
) -> ClassifyStats:
    """Passes over `ids` in a random order until one classifies nothing and none is waiting."""
    config = load_config(config_path, env={})
    client = aioredis.Redis.from_url(url)
    scripts, keys, rng = Scripts(client, Keys(prefix)), Keys(prefix), random.Random(seed)
    found = json.dumps({"theme": "delivery", "type": "complaint", "subtheme": "late"})
    catalogue, stats = catalogue_json(config.routing), ClassifyStats([], 0)
    try:
        while True:
            order = rng.sample(ids, len(ids))
            before = len(stats.classified)
            for case_id in order:
                now = START_MS
                due = category_dues(config.routing, 1, "sales", now)
                context = json.dumps({"service": "sales", "due": due})
                try:
                    await scripts.wf_classify(now, case_id, "", found, catalogue, context)
                    stats.classified.append(case_id)
                except RoutingRefused:
                    stats.refused += 1
            waiting = await client.zcard(keys.status("classifying"))
            waiting += await client.zcard(keys.queue("line", "sms"))
            if len(stats.classified) == before and not waiting:
                return stats
    finally:
        await client.aclose()
