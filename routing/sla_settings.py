"""The time sections: [[schedules]], [sla] (warn_at, escalate_to, on_breach),
[[client_categories]] and [callbacks]. The per-priority [sla.N] tables stay in settings.py."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from channels.settings import Table, kind_of
from routing.schedule import (
    ALWAYS,
    ALWAYS_OPEN,
    WEEKDAYS,
    Ranges,
    Schedule,
    country_holidays,
    parse_ranges,
    time_zone,
)

POLICY_KEYS = ("warn_at", "escalate_to", "on_breach")
BREACH_ACTIONS = ("notify", "raise_priority")


@dataclass(frozen=True)
class SlaPolicy:
    warn_at: float = 0.8  # share of a deadline
    escalate_to: tuple[str, ...] = ()
    on_breach: str = "notify"  # notify | raise_priority | reroute
    reroute_to: str = ""  # the service when on_breach is reroute


@dataclass(frozen=True)
class Callbacks:
    private_grace: float = 1800.0  # seconds
    retry_in: float = 1800.0
    max_attempts: int = 3


def read_schedules(tables: list[Table]) -> dict[str, Schedule]:
    schedules = {ALWAYS: ALWAYS_OPEN}
    for table in tables:
        schedule = _schedule(table)
        if schedule.id in schedules:
            table.problem("id", f"duplicate schedule id {schedule.id!r}")
        elif schedule.id:
            schedules[schedule.id] = schedule
    return schedules


def _schedule(table: Table) -> Schedule:
    schedule_id = table.identifier()
    zone = table.text("timezone", required=True) or ""
    try:
        if zone:
            time_zone(zone)
    except (ZoneInfoNotFoundError, ValueError):
        table.problem("timezone", f"unknown time zone {zone!r} (an IANA name like Europe/Warsaw)")
        zone = ""
    week = tuple(_ranges(table, day, table.text(day, "") or "") for day in WEEKDAYS)
    if not any(week):
        table.problem("mon", "the schedule has no open hours on any weekday")
    country, subdivision = _country(table)
    special = _holidays(table)
    table.close()
    return Schedule(schedule_id, zone or "UTC", week, special, country, subdivision)


def _ranges(table: Table, name: str, text: str) -> Ranges:
    try:
        return parse_ranges(text)
    except ValueError as error:
        table.problem(name, str(error))
        return ()


def _country(table: Table) -> tuple[str, str]:
    country = (table.text("holidays_country", "") or "").upper()
    subdivision = table.text("holidays_subdivision", "") or ""
    if not country:
        if subdivision:
            table.problem("holidays_subdivision", "needs holidays_country")
        return "", ""
    try:
        country_holidays(country, subdivision)
    except NotImplementedError as error:
        name = "holidays_subdivision" if subdivision and "subdivision" in str(error) else ""
        table.problem(name or "holidays_country", f"no public holidays known: {error}")
        return "", ""
    return country, subdivision


def _holidays(table: Table) -> dict[date, Ranges]:
    value = table.get("holidays", list, "a list of dates or {date, hours} tables", False)
    special: dict[date, Ranges] = {}
    for index, item in enumerate(value or []):
        key = f"holidays[{index}]"
        day, hours = (item.get("date"), item.get("hours", "")) if isinstance(item, dict) else (
            item, "")  # fmt: skip
        found = _date(day)
        if found is None:
            table.problem(key, f'expected a date like "2027-01-01", got {day!r}')
        elif not isinstance(hours, str):
            table.problem(f"{key}.hours", f"expected a string, got {kind_of(hours)}")
        else:
            special[found] = _ranges(table, f"{key}.hours", hours)
    return special


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def read_policy(
    table: Table, operators: Collection[str], services: Mapping[str, object]
) -> SlaPolicy:
    warn_at = _share(table)
    escalate = table.strings("escalate_to")
    for index, op in enumerate(escalate):
        if op not in operators:
            table.problems.add(f"{table.key('escalate_to')}[{index}]", f"unknown operator {op!r}")
    on_breach, reroute = _on_breach(table, services)
    return SlaPolicy(warn_at, tuple(escalate), on_breach, reroute)


def _share(table: Table) -> float:
    value = table.get("warn_at", (int, float), "a share between 0 and 1, like 0.8", False)
    if value is None:
        return 0.8
    if not 0 < value < 1:
        table.problem("warn_at", f"must be between 0 and 1 (exclusive), got {value!r}")
        return 0.8
    return float(value)


def _on_breach(table: Table, services: Mapping[str, object]) -> tuple[str, str]:
    value = table.get("on_breach", (str, dict), '"notify", "raise_priority" or {reroute}', False)
    if value is None:
        return "notify", ""
    if isinstance(value, str):
        if value not in BREACH_ACTIONS:
            table.problem("on_breach", f'expected "notify", "raise_priority" or {{ reroute = '
                          f'"<service>" }}, got {value!r}')  # fmt: skip
            return "notify", ""
        return value, ""
    action = table.child(value, table.key("on_breach"))
    target = action.reference("reroute", services, "service", required=True)
    action.close()
    return ("reroute", target) if target is not None and target in services else ("notify", "")


def read_callbacks(table: Table) -> Callbacks:
    callbacks = Callbacks(
        private_grace=table.duration("private_grace", "30m"),
        retry_in=table.duration("retry_in", "30m", positive=True),
        max_attempts=table.integer("max_attempts", 3, minimum=1),
    )
    table.close()
    return callbacks
