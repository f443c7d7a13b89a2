"""Business hours (routing/schedule.py) and the [[schedules]], [sla], [callbacks] config."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.errors import ConfigError
from gateway.config import load_config
from routing.schedule import (
    ALWAYS_OPEN,
    Schedule,
    add,
    add_all,
    intervals,
    next_opening,
    open_between,
    parse_ranges,
)

H = 3_600_000
WEEKDAYS_9_18 = (parse_ranges("09:00-18:00"),) * 5 + ((), ())


def office(zone: str = "Europe/Warsaw", **extra: object) -> Schedule:
    return Schedule("office", zone, WEEKDAYS_9_18, **extra)  # type: ignore[arg-type]


def ms(text: str, zone: str = "Europe/Warsaw") -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp() * 1000)


SPLIT = Schedule("split", "Europe/Warsaw", (parse_ranges("09:00-13:00,14:00-18:00"),) * 7)
# Open day and night, with a holiday years away: the interval walk, not the 24/7 shortcut.
NIGHTS = Schedule(
    "nights", "Europe/Warsaw", (parse_ranges("00:00-24:00"),) * 7, {date(2031, 1, 1): ()}
)
CLOSED_XMAS = office(
    special={date(2027, 12, 24): (), date(2027, 12, 27): parse_ranges("10:00-12:00")}
)
POLISH = office(country="PL")

# (schedule, start, open duration, due), all local times in Europe/Warsaw
TABLE = [
    ("friday evening", office(), "2027-03-05 17:00", 4 * H, "2027-03-08 12:00"),
    ("friday after closing", office(), "2027-03-05 19:30", 1 * H, "2027-03-08 10:00"),
    ("exactly at closing", office(), "2027-03-05 14:00", 4 * H, "2027-03-05 18:00"),
    ("weekend start", office(), "2027-03-06 11:00", 2 * H, "2027-03-08 11:00"),
    ("several ranges", SPLIT, "2027-03-03 12:00", 3 * H, "2027-03-03 16:00"),
    ("several ranges, overnight", SPLIT, "2027-03-03 17:00", 6 * H, "2027-03-04 15:00"),
    ("hand-kept holiday and own hours", CLOSED_XMAS, "2027-12-23 17:00", 3 * H,
     "2027-12-27 12:00"),
    ("country holiday (PL 11 Nov)", POLISH, "2027-11-10 17:00", 2 * H, "2027-11-12 10:00"),
    ("DST spring, 24/7 in Warsaw", NIGHTS, "2027-03-27 12:00", 24 * H, "2027-03-28 13:00"),
    ("DST autumn, 24/7 in Warsaw", NIGHTS, "2027-10-30 12:00", 24 * H, "2027-10-31 11:00"),
    ("DST spring, office hours", office(), "2027-03-26 17:00", 2 * H, "2027-03-29 10:00"),
    ("24/7 built in", ALWAYS_OPEN, "2027-03-05 17:00", 4 * H, "2027-03-05 21:00"),
]  # fmt: skip


@pytest.mark.parametrize(("schedule", "start", "duration", "due"),
                         [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])  # fmt: skip
def test_due_times_count_open_hours_only(
    schedule: Schedule, start: str, duration: int, due: str
) -> None:
    assert add(schedule, ms(start), duration) == ms(due)
    assert open_between(schedule, ms(start), ms(due)) == duration


def test_next_opening() -> None:
    assert next_opening(office(), ms("2027-03-06 03:00")) == ms("2027-03-08 09:00")
    assert next_opening(office(), ms("2027-03-08 10:15")) == ms("2027-03-08 10:15")
    assert next_opening(office(), ms("2027-03-08 18:00")) == ms("2027-03-09 09:00")
    assert next_opening(ALWAYS_OPEN, ms("2027-03-06 03:00")) == ms("2027-03-06 03:00")
    assert next_opening(POLISH, ms("2027-11-10 18:30")) == ms("2027-11-12 09:00")


def test_open_between_with_a_lunch_break() -> None:
    assert open_between(SPLIT, ms("2027-03-03 08:00"), ms("2027-03-03 20:00")) == 8 * H
    assert open_between(SPLIT, ms("2027-03-03 20:00"), ms("2027-03-03 08:00")) == 0


SCHEDULES = [office(), SPLIT, NIGHTS, CLOSED_XMAS, POLISH, office("Asia/Kolkata"), ALWAYS_OPEN]


@settings(max_examples=200, deadline=None)
@given(
    schedule=st.sampled_from(SCHEDULES),
    start=st.integers(ms("2027-01-01 00:00"), ms("2028-12-31 00:00")),
    duration=st.integers(0, 30 * 24 * H),
)
def test_open_time_from_created_to_due_equals_the_sla(
    schedule: Schedule, start: int, duration: int
) -> None:
    due = add(schedule, start, duration)
    assert due >= start
    assert open_between(schedule, start, due) == duration
    if duration:  # the due is the first instant with that much open time, not a later one
        assert open_between(schedule, start, due - 1) < duration


@settings(max_examples=100, deadline=None)
@given(
    schedule=st.sampled_from(SCHEDULES),
    start=st.integers(ms("2027-01-01 00:00"), ms("2028-12-31 00:00")),
    durations=st.lists(st.integers(-H, 10 * 24 * H), max_size=5),
)
def test_several_durations_in_one_walk_match_one_by_one(
    schedule: Schedule, start: int, durations: list[int]
) -> None:
    assert add_all(schedule, start, durations) == [add_one(schedule, start, d) for d in durations]


def add_one(schedule: Schedule, start: int, duration: int) -> int:
    """The first instant with `duration` of open time since `start`, found interval by interval."""
    if duration <= 0:
        return start + duration
    left = duration
    for opens, closes in intervals(schedule, start):
        if closes - opens >= left:
            return opens + left
        left -= closes - opens
    raise AssertionError("never open")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("09:00-18", "is not a range"),
        ("18:00-09:00", "ends before it starts"),
        ("09:00-25:00", "does not exist"),
        ("09:00-13:00,12:00-18:00", "overlap"),
    ],
)
def test_bad_ranges(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_ranges(text)


BASE = """\
[gateway]
default_region = "RU"
admin_token = "admin"
[types]
request = 2
default = "request"
[sla]
warn_at = 0.75
escalate_to = ["anna"]
on_breach = { reroute = "other" }
[sla.2]
reaction = "1h"
resolution = "8h"
schedule = "office"
[[schedules]]
id = "office"
timezone = "Europe/Warsaw"
mon = "09:00-13:00,14:00-18:00"
fri = "09:00-16:00"
holidays_country = "PL"
holidays = [2027-01-02, { date = "2027-01-03", hours = "10:00-12:00" }]
[[client_categories]]
id = "vip"
schedule = "always"
sla = { 2 = { reaction = "5m" } }
[callbacks]
private_grace = "10m"
retry_in = "15m"
max_attempts = 2
[[operators]]
id = "anna"
token = "t-anna"
capacity = { total = 3 }
[[services]]
id = "support"
operators = ["anna"]
[[services]]
id = "other"
operators = ["anna"]
schedule = "office"
[routing]
default_service = "support"
"""


def test_time_sections_are_read(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(BASE)
    routing = load_config(str(path), env={}).routing
    schedule = routing.schedules["office"]
    assert schedule.week[0] == ((540, 780), (840, 1080)) and schedule.week[1] == ()
    assert schedule.special == {date(2027, 1, 2): (), date(2027, 1, 3): ((600, 720),)}
    assert schedule.country == "PL"
    policy = routing.sla_policy
    assert (policy.warn_at, policy.escalate_to, policy.on_breach, policy.reroute_to) == (
        0.75, ("anna",), "reroute", "other")  # fmt: skip
    assert routing.terms(2, "support") == (routing.sla[2], "office")
    vip, schedule_id = routing.terms(2, "support", "vip")
    assert (vip, schedule_id) == (type(vip)(300.0, 28800.0, "office"), "always")
    assert routing.terms(2, "other", "") == (routing.sla[2], "office")
    assert routing.callbacks.private_grace == 600 and routing.callbacks.max_attempts == 2


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('timezone = "Europe/Warsaw"', 'timezone = "Europe/Atlantis"',
         'c.toml: schedules[0].timezone: unknown time zone'),
        ('mon = "09:00-13:00,14:00-18:00"', 'mon = "9-18"', "c.toml: schedules[0].mon: '9-18'"),
        ('fri = "09:00-16:00"', 'fri = "16:00-09:00"', "c.toml: schedules[0].fri: "),
        ('schedule = "office"\n[[schedules]]', 'schedule = "offise"\n[[schedules]]',
         "c.toml: sla.2.schedule: unknown schedule 'offise'"),
        ('schedule = "always"', 'schedule = "nope"',
         "c.toml: client_categories[0].schedule: unknown schedule 'nope'"),
        ('schedule = "office"\n[routing]', 'schedule = "x"\n[routing]',
         "c.toml: services[1].schedule: unknown schedule 'x'"),
        ('holidays_country = "PL"', 'holidays_country = "XX"',
         "c.toml: schedules[0].holidays_country: no public holidays known"),
        ('{ date = "2027-01-03", hours = "10:00-12:00" }', '{ date = "2027-13-03" }',
         "c.toml: schedules[0].holidays[1]: expected a date"),
        ("warn_at = 0.75", "warn_at = 1.5", "c.toml: sla.warn_at: must be between 0 and 1"),
        ('escalate_to = ["anna"]', 'escalate_to = ["zed"]',
         "c.toml: sla.escalate_to[0]: unknown operator 'zed'"),
        ('on_breach = { reroute = "other" }', 'on_breach = { reroute = "nowhere" }',
         "c.toml: sla.on_breach.reroute: unknown service 'nowhere'"),
        ('on_breach = { reroute = "other" }', 'on_breach = "shout"', "c.toml: sla.on_breach: "),
        ("max_attempts = 2", "max_attempts = 0", "c.toml: callbacks.max_attempts: must be at"),
    ],
)  # fmt: skip
def test_bad_time_sections_are_named(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in BASE, old
    path = tmp_path / "c.toml"
    path.write_text(BASE.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), env={})
    assert any(line.startswith(expected) for line in caught.value.problems), caught.value.problems
