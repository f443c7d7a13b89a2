"""Logging with the standard library: one handler on stderr, text or one JSON object per line.

Every record carries `request_id` (empty outside a request or mail), from `context.REQUEST_ID`.
structlog would give the same lines with one more dependency; the stdlib already is what
aiohttp, aiosmtpd, redis-py and RQ log through, so one formatter covers their lines too.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from gateway.telemetry.context import REQUEST_ID
from gateway.telemetry.settings import Telemetry

TEXT_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s%(request_tag)s"
# attributes a LogRecord has by itself: whatever else a record carries came from `extra=`
PLAIN = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_tag"}


class RequestIdFilter(logging.Filter):
    """Stamps the current request id on each record (a handler's filter: every logger's
    records pass it, not only those of loggers that were given the filter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = REQUEST_ID.get()
        record.request_id = rid
        record.request_tag = f" [request {rid}]" if rid else ""
        return True


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "pid", "msg", "request_id"?, <extra fields>, "exc"?}`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", "")
        if rid:
            line["request_id"] = rid
        line.update((k, v) for k, v in vars(record).items() if k not in PLAIN and k != "request_id")
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def _iso(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


def configure(telemetry: Telemetry | None = None) -> None:
    """Replace the root logger's handlers with one on stderr in the configured format."""
    telemetry = telemetry or Telemetry()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    json_lines = telemetry.log_format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=telemetry.log_level.upper(), handlers=[handler], force=True)
