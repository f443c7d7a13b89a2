"""Applies the routing part of a config (operators, capacities, services, offers) to Redis.

Runs at start and on every reload; queued and assigned work is kept, and anyone who gained
room (capacity raised, new service) is given queued cases in the same step.
"""

from __future__ import annotations

import time
from typing import Any

from routing.scripts import Scripts
from routing.settings import RoutingSettings, Service


def routing_config(settings: RoutingSettings) -> dict[str, Any]:
    return {
        "operators": {
            op.id: {"total": op.capacity.total, "caps": op.capacity.per_channel}
            for op in settings.operators.values()
        },
        "services": {
            svc.id: {"members": list(svc.operators), "sticky": svc.sticky_owner, **_workflow(svc)}
            for svc in settings.services.values()
        },
        "offer_timeouts": {ch: int(s * 1000) for ch, s in settings.offer_timeout.items()},
    }


def _workflow(service: Service) -> dict[str, Any]:
    """`triage`, and `required` as "<resolve|accept> <id>,<id>" (routing/lua/wflib.lua)."""
    flow = service.workflow
    found: dict[str, Any] = {"triage": flow.triage}
    if flow.required:
        found["required"] = f"{flow.required_for} {','.join(flow.required)}"
    return found


async def apply(scripts: Scripts, settings: RoutingSettings, version: str) -> None:
    """`version` names the config file the settings came from (followers reload on a change)."""
    await scripts.sync(int(time.time() * 1000), routing_config(settings), version)
