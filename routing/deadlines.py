"""Due times on business hours, computed in Python because Lua cannot do calendar math:
intake passes them to its Lua step, and the timers pass the breach policy."""

from __future__ import annotations

import json
from typing import Any

from routing.schedule import ALWAYS_OPEN, Schedule, add_all
from routing.settings import RoutingSettings


def schedule_of(routing: RoutingSettings, schedule_id: str | None) -> Schedule:
    """A schedule gone from the config (a reload) counts as 24/7 until the recompute."""
    return routing.schedules.get(schedule_id or "", ALWAYS_OPEN)


def dues(
    routing: RoutingSettings, case: tuple[int, str, str], start_ms: int, paused_ms: int = 0
) -> list[Any] | None:
    """[reaction warning, reaction due, resolution warning, resolution due, schedule id] for a
    case (priority, service, contact category) created at `start_ms`; None without an SLA."""
    priority, service, category = case
    sla, schedule_id = routing.terms(priority, service, category)
    if sla is None:
        return None
    schedule, warn = schedule_of(routing, schedule_id), routing.sla_policy.warn_at
    reaction, resolution = int(sla.reaction * 1000), int(sla.resolution * 1000)
    levels = [int(reaction * warn), reaction, int(resolution * warn) + paused_ms]
    return [*add_all(schedule, start_ms, [*levels, resolution + paused_ms]), schedule_id]


def intake_dues(
    routing: RoutingSettings, priority: int, service: str, now_ms: int
) -> dict[str, list[Any]]:
    """Due times by contact category ("" for none): intake's Lua step picks the contact's."""
    return category_dues(routing, priority, service, now_ms)


def category_dues(
    routing: RoutingSettings, priority: int, service: str, start_ms: int, paused_ms: int = 0
) -> dict[str, list[Any]]:
    """Due times by contact category of clocks started at `start_ms` (creation, or for a
    triaged case its classification) with `paused_ms` of pauses so far."""
    base = dues(routing, (priority, service, ""), start_ms, paused_ms)
    table = {"": base} if base else {}
    for category in routing.categories:
        found = dues(routing, (priority, service, category), start_ms, paused_ms)
        if found and found != base:
            table[category] = found
    return table


def policy_json(routing: RoutingSettings) -> str:
    """What a breach does, for sla_fire."""
    policy = routing.sla_policy
    return json.dumps(
        {"escalate": list(policy.escalate_to), "action": policy.on_breach, "to": policy.reroute_to}
    )


def terms_changed(old: RoutingSettings, new: RoutingSettings) -> bool:
    def terms(routing: RoutingSettings) -> tuple[Any, ...]:
        services = {svc.id: svc.schedule for svc in routing.services.values()}
        return (routing.sla, routing.schedules, routing.categories, routing.sla_policy, services)

    return terms(old) != terms(new)
