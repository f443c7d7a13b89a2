"""Field checks for provider payloads (SPEC §4 "Input values"), each failure a `Rejected`.

Text is a JSON string (a provider's integer id is kept as its decimal string) without NUL or
lone surrogates; times are RFC 3339 or Unix seconds between 2000-01-01 and one day after now.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime
from urllib.parse import urlsplit

from channels.rejection import invalid, missing

EARLIEST = 946684800.0  # 2000-01-01T00:00:00Z
AHEAD = 86400.0  # a provider clock may run ahead, a day at most
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def text(value: object, field: str, *, required: bool = True, max_len: int = 256) -> str:
    """A text field; `None` and "" are absent (refused when `required`)."""
    if value is None or value == "":
        if required:
            raise missing(field)
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise invalid(field, f"'{field}' must be a string.")
    return clean(value, field, max_len)


def clean(value: str, field: str, max_len: int) -> str:
    """`value` unless it is too long or holds NUL or a lone surrogate."""
    if len(value) > max_len:
        raise invalid(field, f"'{field}' is longer than {max_len} characters.")
    if "\x00" in value:
        raise invalid(field, f"'{field}' contains NUL.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(field, f"'{field}' contains a lone surrogate.") from None
    return value


def number(value: object, field: str) -> float:
    """A finite JSON number (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(field, f"'{field}' must be a number.")
    try:
        result = float(value)
    except OverflowError:
        raise invalid(field, f"'{field}' is out of range.") from None
    if not math.isfinite(result):
        raise invalid(field, f"'{field}' must be finite.")
    return result


def duration(value: object, field: str) -> float:
    seconds = number(value, field)
    if seconds < 0:
        raise invalid(field, f"'{field}' must not be negative.")
    return seconds


def moment(value: object, field: str, now: float | None = None) -> float:
    """Unix seconds from RFC 3339 text or a number, within the accepted window."""
    seconds = _rfc3339(value, field) if isinstance(value, str) else number(value, field)
    latest = (time.time() if now is None else now) + AHEAD
    if not EARLIEST <= seconds <= latest:
        raise invalid(field, f"'{field}' must be between 2000-01-01 and one day from now.")
    return seconds


def _rfc3339(value: str, field: str) -> float:
    if not RFC3339.fullmatch(value):
        raise invalid(field, f"'{field}' must be RFC 3339 (with an offset) or Unix seconds.")
    iso = value.upper().replace(" ", "T").replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        raise invalid(field, f"'{field}' is not a real date and time.") from None


def http_url(value: object, field: str, *, max_len: int = 2048) -> str:
    """An absolute http(s) URL with a host, ASCII only (nothing to normalize behind our back)."""
    url = text(value, field, max_len=max_len)
    if not url.isascii() or any(c <= " " or c in "\\\x7f" for c in url):
        raise invalid(field, f"'{field}' must be a plain ASCII URL.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise invalid(field, f"'{field}' is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(field, f"'{field}' must be an http(s) URL.")
    return url
