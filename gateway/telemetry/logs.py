"""Logging with the standard library: one handler on stderr, text or one JSON object per line.

Every record carries `request_id` (empty outside a request or mail), from `context.REQUEST_ID`;
a record's structured fields come as `extra={"fields": {...}}` (the access line's method,
route, status, duration_ms). structlog would give the same lines with one more dependency; the
stdlib already is what aiohttp, aiosmtpd, redis-py and RQ log through, so one formatter covers
their lines too. The access line is on the hot path: orjson when installed, the timestamp
text cached per second, and no caller lookup (logging's documented `_srcfile = None`).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from gateway.telemetry.context import REQUEST_ID
from gateway.telemetry.settings import Telemetry

try:
    import orjson
except ImportError:
    orjson = None  # type: ignore[assignment]

TEXT_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s%(request_tag)s"


class RequestIdFilter(logging.Filter):
    """Stamps the current request id on each record (a handler's filter: every logger's
    records pass it, not only those of loggers that were given the filter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = REQUEST_ID.get()
        record.request_id = rid
        record.request_tag = f" [request {rid}]" if rid else ""
        return True


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "pid", "msg", "request_id"?, <fields>, "exc"?}`."""

    def __init__(self) -> None:
        super().__init__()
        self._second, self._stamp = -1, ""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self._iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", "")
        if rid:
            line["request_id"] = rid
        line.update(getattr(record, "fields", ()))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return _dumps(line)

    def _iso(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int(created % 1 * 1000):03d}Z"


def _dumps(line: dict[str, Any]) -> str:
    if orjson is not None:
        return orjson.dumps(line, default=str).decode()
    return json.dumps(line, ensure_ascii=False, default=str)


def configure(telemetry: Telemetry | None = None) -> None:
    """Replace the root logger's handlers with one on stderr in the configured format."""
    telemetry = telemetry or Telemetry()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    json_lines = telemetry.log_format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=telemetry.log_level.upper(), handlers=[handler], force=True)
    # No line shows the caller's file or thread: not looking them up is the logging HOWTO's
    # own advice for speed (the pid stays, in every line).
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
