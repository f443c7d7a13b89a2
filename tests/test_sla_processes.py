"""`serve --processes 2` with a worker, on the wall clock (real processes keep their own time):
an untouched case gets one SLA warning and one breach although the process holding the timer
lease is killed (SIGKILL) between them and the other one takes the timers over."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from routing.keys import Keys
from tests.helpers import Serve, wait_for
from tests.http_load import call
from tests.sla_helpers import config_text

DEFAULT = Keys()  # what `serve` uses
ADMIN = "change-me-admin"
# A request (priority 2, 24/7) warned after 8 s and breached after 10 s of real time.
SHORT = config_text().replace('[sla.2]\nreaction = "1h"', '[sla.2]\nreaction = "10s"')


def sla_levels(base: str, case_id: int) -> list[tuple[str, str]]:
    status, found = call(base, "GET", f"/api/cases/{case_id}", ADMIN)
    assert status == 200, found
    return [(e["which"], e["level"]) for e in found["timeline"] if e["kind"] == "sla"]


def answered(base: str, case_id: int) -> list[tuple[str, str]] | None:
    try:
        return sla_levels(base, case_id)
    except OSError:
        return None


def holder_pid(client: redis.Redis) -> int:
    """The timer lease's holder: its token is "<host>:<pid>:<random>"."""
    token: Any = client.get(DEFAULT.lease("timers"))
    assert token, "nobody holds the timer lease"
    return int(token.decode().split(":")[1])


def test_one_warning_and_one_breach_with_the_timer_holder_killed_between(
    tmp_path: Path, serve: Callable[..., Serve]
) -> None:
    assert config_text() != SHORT, "the short reaction time is in"
    path = tmp_path / "config.toml"
    path.write_text(SHORT)
    gateway = serve("--processes", "2", "--workers", "1", config=path)
    gateway.wait_ready()
    client = redis.Redis.from_url(gateway.embedded_url())
    assert call(gateway.base_url, "PUT", "/api/operators/a/presence", ADMIN,
                {"presence": "available"})[0] == 200  # fmt: skip
    body = {"contact": {"phone": "+79160000201"}, "text": "call me", "type": "request"}
    status, made = call(gateway.base_url, "POST", "/api/cases", ADMIN, body)
    assert status == 201 and made["assignee"] == "a", made
    wait_for(lambda: sla_levels(gateway.base_url, made["id"]), 20, "the warning")
    holder = holder_pid(client)
    assert holder in gateway.children("gateway"), (holder, gateway.children(""))
    os.kill(holder, signal.SIGKILL)
    # A connection the kernel gave the killed acceptor is reset: ask again.
    levels = wait_for(lambda: answered(gateway.base_url, made["id"]), 10, "an answer")
    assert levels == [("reaction", "warning")]
    wait_for(lambda: len(answered(gateway.base_url, made["id"]) or []) == 2, 40, "the breach")
    assert holder_pid(client) != holder
    assert sla_levels(gateway.base_url, made["id"]) == [
        ("reaction", "warning"),
        ("reaction", "breach"),
    ]
    kinds = [f[b"type"].decode() for _, f in client.xrange(DEFAULT.events("a"))]
    assert [k for k in kinds if k.startswith("sla_")] == ["sla_warning", "sla_breach"]
    client.close()
