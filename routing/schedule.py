"""Business hours: weekly open ranges in a time zone, holidays, and deadline arithmetic on them.

Instants are Unix milliseconds. A day's ranges are local wall-clock minutes, so across a DST
change a day's "00:00-24:00" is 23 or 25 hours long, as the office's clocks show it; a range
edge that falls in the spring gap is read with the offset before the change (02:30 -> 03:30).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "always"  # the built-in 24/7 schedule, the default everywhere
DAY = 1440  # minutes
HORIZON_DAYS = 800  # deadlines are looked for this far ahead at most

Ranges = tuple[tuple[int, int], ...]  # (start, end) minutes after local midnight, sorted
FULL_WEEK: tuple[Ranges, ...] = (((0, DAY),),) * 7

_RANGE = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")


@dataclass(frozen=True)
class Schedule:
    id: str
    timezone: str  # IANA name, checked when the config is read
    week: tuple[Ranges, ...] = FULL_WEEK  # Monday first
    special: Mapping[date, Ranges] = field(default_factory=dict)  # own hours; () is closed
    country: str = ""  # public holidays of this country (the `holidays` package) are closed
    subdivision: str = ""
    # a day's open intervals in ms, as `intervals` makes them (timezone and holiday lookups were
    # most of a classify's or a type change's CPU): filled as days are asked for
    _days: dict[date, tuple[tuple[int, int], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def always_open(self) -> bool:
        return self.week == FULL_WEEK and not self.special and not self.country


ALWAYS_OPEN = Schedule(ALWAYS, "UTC")


def parse_ranges(text: str) -> Ranges:
    """ "09:00-13:00,14:00-18:00" -> ((540, 780), (840, 1080)); "" is a closed day.

    ValueError says what is wrong in words fit for a config problem line.
    """
    if not text.strip():
        return ()
    found = sorted(_range(part.strip()) for part in text.split(","))
    for (_, end), (start, _) in pairwise(found):
        if start < end:
            raise ValueError(f"ranges overlap in {text!r}")
    return tuple(found)


def _range(part: str) -> tuple[int, int]:
    match = _RANGE.fullmatch(part)
    if match is None:
        raise ValueError(f'{part!r} is not a range like "09:00-18:00"')
    h1, m1, h2, m2 = (int(group) for group in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > DAY:
        raise ValueError(f"{part!r} has a time that does not exist (00:00 to 24:00)")
    if start >= end:
        raise ValueError(f"{part!r} ends before it starts")
    return start, end


def country_holidays(country: str, subdivision: str = "") -> holidays.HolidayBase:
    """The country's public holidays; NotImplementedError for an unknown country/subdivision."""
    return _country(country, subdivision)


@lru_cache(maxsize=64)
def _country(country: str, subdivision: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision or None)


@lru_cache(maxsize=64)
def time_zone(name: str) -> ZoneInfo:
    """The zone; ZoneInfoNotFoundError or ValueError for a name that is not one."""
    return ZoneInfo(name)


def day_ranges(schedule: Schedule, day: date) -> Ranges:
    """Hand-kept holidays first, then the country's (closed), then the weekday's hours."""
    if day in schedule.special:
        return schedule.special[day]
    if schedule.country and day in _country(schedule.country, schedule.subdivision):
        return ()
    return schedule.week[day.weekday()]


def _instant(zone: ZoneInfo, day: date, minute: int) -> int:
    local = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
    return int(local.replace(tzinfo=zone).timestamp() * 1000)


def intervals(schedule: Schedule, start_ms: int) -> Iterator[tuple[int, int]]:
    """Open intervals (ms) ending after `start_ms`, in order, the first clipped to start there."""
    zone = time_zone(schedule.timezone)
    first = datetime.fromtimestamp(start_ms / 1000, zone).date()
    for offset in range(HORIZON_DAYS):
        for opens, closes in _open_on(schedule, zone, first + timedelta(days=offset)):
            if closes > start_ms:
                yield max(opens, start_ms), closes


DAYS_KEPT = 4096  # a schedule's cached days; past it the cache starts again


def _open_on(schedule: Schedule, zone: ZoneInfo, day: date) -> tuple[tuple[int, int], ...]:
    found = schedule._days.get(day)
    if found is None:
        found = tuple(
            (opens, closes)
            for opens, closes in (
                (_instant(zone, day, start), _instant(zone, day, end))
                for start, end in day_ranges(schedule, day)
            )
            if closes > opens
        )
        if len(schedule._days) >= DAYS_KEPT:
            schedule._days.clear()
        schedule._days[day] = found
    return found


def add(schedule: Schedule, start_ms: int, duration_ms: int) -> int:
    """The instant when `duration_ms` of open time has passed since `start_ms`."""
    return add_all(schedule, start_ms, [duration_ms])[0]


def add_all(schedule: Schedule, start_ms: int, durations_ms: Sequence[int]) -> list[int]:
    """`add` for several durations in one walk over the open intervals (a case's four levels)."""
    # Open too little within the horizon (a year of holidays): the wall clock decides.
    found = [start_ms + duration for duration in durations_ms]
    if schedule.always_open:
        return found
    pending = sorted((d, i) for i, d in enumerate(durations_ms) if d > 0)
    used = 0
    for opens, closes in intervals(schedule, start_ms):
        while pending and pending[0][0] - used <= closes - opens:
            duration, index = pending.pop(0)
            found[index] = opens + duration - used
        if not pending:
            break
        used += closes - opens
    return found


def open_between(schedule: Schedule, start_ms: int, end_ms: int) -> int:
    """Open time (ms) from `start_ms` to `end_ms`; 0 when the end is not after the start."""
    if end_ms <= start_ms:
        return 0
    if schedule.always_open:
        return end_ms - start_ms
    total = 0
    for opens, closes in intervals(schedule, start_ms):
        if opens >= end_ms:
            break
        total += min(closes, end_ms) - opens
    return total


def next_opening(schedule: Schedule, at_ms: int) -> int:
    """`at_ms` itself when open then, else the next moment the schedule opens."""
    if schedule.always_open:
        return at_ms
    return next((opens for opens, _ in intervals(schedule, at_ms)), at_ms)
