"""Pure checks of input values (SPEC §4 "Input values"): the one set the channels, the provider
parsers and the operator API share.

Each check either returns the value in the one shape the store keeps or raises a `Rejected`
(an `InvalidField`) naming the field, so nothing that could break a later read is ever stored.
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from channels import fastjson
from channels.errors import BadRequest
from channels.rejection import invalid, missing

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
        raise invalid(name, f"'{name}' must be a positive integer up to 2^53.")
    return found


def storable(value: str, name: str, max_len: int | None = None) -> str:
    """`value` unless it is longer than `max_len` or holds NUL or a lone surrogate."""
    if max_len is not None and len(value) > max_len:
        raise invalid(name, f"'{name}' is longer than {max_len} characters.")
    # ASCII (most text) cannot hold a surrogate: skip the regex, a third of an SMS's checks
    if "\x00" in value or (not value.isascii() and _SURROGATE.search(value)):
        raise invalid(name, f"'{name}' contains NUL or a lone surrogate.")
    return value


def text(
    value: object,
    name: str,
    *,
    required: bool = False,
    allow_empty: bool = True,
    max_len: int | None = None,
) -> str:
    """A text field: a JSON string (a provider's integer id becomes its decimal string)."""
    if value is None or (value == "" and not allow_empty):
        if required:
            raise missing(name)
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < MAX_INT_TEXT:
        return str(value)
    if not isinstance(value, str):
        raise invalid(name, f"'{name}' must be a string.")
    return storable(value, name, max_len)


def provider_text(value: object, name: str, *, required: bool = True, max_len: int = 256) -> str:
    """A provider's text field: "" is absent, and a few hundred characters are plenty."""
    return text(value, name, required=required, allow_empty=False, max_len=max_len)


def choice(value: object, name: str, allowed: Any) -> str | None:
    """None, or a string that is a key of (or in) `allowed`."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise invalid(name, f"'{name}' is not one this gateway knows.")
    return value


def moment(value: object, name: str, now: float | None = None) -> float:
    """A provider time: RFC 3339 or Unix seconds, from 2000-01-01 to a day after now."""
    seconds = _seconds(value)
    latest = (time.time() if now is None else now) + LATEST_AHEAD
    if seconds is None or not EARLIEST <= seconds <= latest:
        raise invalid(
            name, f"'{name}' must be RFC 3339 or Unix seconds between 2000-01-01 and tomorrow."
        )
    return seconds


def _seconds(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _finite(value)
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


def _finite(value: int | float) -> float | None:
    try:
        seconds = float(value)  # an int past a double's range raises, as isfinite() would
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


def number(value: object, name: str) -> float:
    """A finite JSON number (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(name, f"'{name}' must be a number.")
    found = _finite(value)
    if found is None:
        raise invalid(name, f"'{name}' must be a finite number.")
    return found


def duration(value: object, name: str) -> float:
    seconds = number(value, name)
    if seconds < 0:
        raise invalid(name, f"'{name}' must not be negative.")
    return seconds


def http_url(value: object, name: str, *, max_len: int = 2048) -> str:
    """An absolute http(s) URL with a host, ASCII only (nothing to normalize behind our back)."""
    url = provider_text(value, name, max_len=max_len)
    if not url.isascii() or any(c <= " " or c in "\\\x7f" for c in url):
        raise invalid(name, f"'{name}' must be a plain ASCII URL.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise invalid(name, f"'{name}' is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(name, f"'{name}' must be an http(s) URL.")
    return url


def idempotency_key(key: str | None) -> str | None:
    """The `Idempotency-Key` header: printable ASCII, as RFC 9110 field values should be."""
    if key is not None and not _HEADER_KEY.fullmatch(key):
        raise invalid(
            "Idempotency-Key", f"Idempotency-Key must be 1 to {MAX_KEY} printable ASCII characters."
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
