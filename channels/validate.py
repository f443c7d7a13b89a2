"""Pure checks of input values (SPEC §4 "Input values"), shared by the channels and the API.

Each check either returns the value in the one shape the store keeps or raises `InvalidField`
naming the field, so nothing that could break a later read is ever stored.
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import datetime
from typing import Any

from channels import fastjson
from channels.errors import BadRequest, InvalidField

MAX_ID = 2**53  # the largest integer every JSON client reads exactly
MAX_INT_TEXT = 2**64  # a provider's integer id fits 64 bits; a longer number is no id
EARLIEST = 946_684_800.0  # 2000-01-01T00:00:00Z: older provider times are bogus
LATEST_AHEAD = 86_400.0  # provider clocks may run ahead, but not by more than a day
# NUL breaks C-string consumers; lone surrogates cannot be encoded as UTF-8 (or stored).
_SURROGATE = re.compile("[\ud800-\udfff]")
_ID = re.compile(r"[0-9]{1,16}")  # ASCII only: str.isdigit() and int() also take '٣', ' 3', '3_0'
MAX_KEY = 255
_HEADER_KEY = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,254}")  # MAX_KEY characters at most
_UNIX = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,9})?")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def positive_id(raw: str) -> int | None:
    """A case (or attachment) id written as ASCII digits, 1..2^53; else None."""
    if not _ID.fullmatch(raw):
        return None
    number = int(raw)
    return number if 1 <= number <= MAX_ID else None


def body_id(value: object, name: str) -> int:
    """A case id given in a JSON body: an integer (or its ASCII digits) in 1..2^53."""
    if isinstance(value, str):
        found = positive_id(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        found = value if 1 <= value <= MAX_ID else None
    else:
        found = None
    if found is None:
        raise InvalidField(f"'{name}' must be a positive integer up to 2^53.", field=name)
    return found


def storable(value: str, name: str) -> str:
    # ASCII (most text) cannot hold a surrogate: skip the regex, a third of an SMS's checks
    if "\x00" in value or (not value.isascii() and _SURROGATE.search(value)):
        raise InvalidField(f"'{name}' contains NUL or a lone surrogate.", field=name)
    return value


def text(value: object, name: str, *, required: bool = False, allow_empty: bool = True) -> str:
    """A text field: a JSON string (a provider's integer id becomes its decimal string)."""
    if value is None or (value == "" and not allow_empty):
        if required:
            raise InvalidField(f"'{name}' is required.", code="missing_field", field=name)
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < MAX_INT_TEXT:
        return str(value)
    if not isinstance(value, str):
        raise InvalidField(f"'{name}' must be a string.", field=name)
    return storable(value, name)


def choice(value: object, name: str, allowed: Any) -> str | None:
    """None, or a string that is a key of (or in) `allowed`."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise InvalidField(f"'{name}' is not one this gateway knows.", field=name)
    return value


def moment(value: object, name: str, now: float | None = None) -> float:
    """A provider time: RFC 3339 or Unix seconds, from 2000-01-01 to a day after now."""
    seconds = _seconds(value)
    latest = (time.time() if now is None else now) + LATEST_AHEAD
    if seconds is None or not EARLIEST <= seconds <= latest:
        raise InvalidField(
            f"'{name}' must be RFC 3339 or Unix seconds between 2000-01-01 and tomorrow.",
            field=name,
        )
    return seconds


def _seconds(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    if _UNIX.fullmatch(value):
        return float(value)
    if not _RFC3339.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError):  # 2024-02-30, hour 25, offsets past year 9999...
        return None


def idempotency_key(key: str | None) -> str | None:
    """The `Idempotency-Key` header: printable ASCII, as RFC 9110 field values should be."""
    if key is not None and not _HEADER_KEY.fullmatch(key):
        raise InvalidField(
            f"Idempotency-Key must be 1 to {MAX_KEY} printable ASCII characters.",
            field="Idempotency-Key",
        )
    return key


def json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object; NaN, Infinity, numbers beyond a double and deep nesting are malformed."""
    try:
        body = fastjson.loads(raw)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        body = _lenient(raw)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.", code="malformed_json")
    return body


def _lenient(raw: bytes) -> Any:
    """What orjson refuses, read again by the standard library: a lone surrogate escape is JSON,
    so it is refused on its field (422) by `text`; NaN, Infinity and deep nesting stay malformed."""
    try:
        return json.loads(raw, parse_constant=fastjson.no_constants)
    except (ValueError, RecursionError) as error:
        raise BadRequest(f"The body is not valid JSON: {error}.", code="malformed_json") from None
