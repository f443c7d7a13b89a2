"""The SLA and callback tests' config, injected clock, gateway starter and small API helpers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
from aiohttp.test_utils import TestClient

from gateway.config import load_config
from gateway.http.app import build_app
from gateway.runtime.clock import SettableClock
from routing.keys import Keys
from tests.conftest import ADMIN, signed_sms

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
