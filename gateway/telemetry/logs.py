"""Logging with the standard library: one handler on stderr, text or one JSON object per line.

Every record carries `request_id` (empty outside a request or mail), from `context.REQUEST_ID`;
a record's structured fields come as `extra={"fields": {...}}` (the access line's method,
route, status, duration_ms). structlog would give the same lines with one more dependency; the
stdlib already is what aiohttp, aiosmtpd, redis-py and RQ log through, so one formatter covers
their lines too. The access line is on the hot path: orjson when installed, the timestamp
text cached per second, no caller lookup (logging's documented `_srcfile = None`), and lines
written in batches (`BatchedHandler`): one write(2) per line cost a fifth of the SMS intake rate.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import weakref
from typing import Any, TextIO

from gateway.telemetry.context import REQUEST_ID
from gateway.telemetry.pid import PID
from gateway.telemetry.settings import Telemetry

try:
    import orjson
except ImportError:
    orjson = None  # type: ignore[assignment]

FLUSH_EVERY = 0.2  # seconds a line may wait in the buffer at most
FLUSH_SIZE = 64 * 1024  # characters: a burst is written at once
TEXT_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s%(request_tag)s"
ACCESS_LOGGER = "gateway.access"  # one INFO line per HTTP request (gateway/http/observe.py)


class RequestIdFilter(logging.Filter):
    """Stamps the current request id on each record (a handler's filter: every logger's
    records pass it, not only those of loggers that were given the filter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = REQUEST_ID.get()
        record.process = PID.value  # logging's own asks os.getpid per record (logProcesses off)
        record.request_id = rid
        record.request_tag = f" [request {rid}]" if rid else ""
        return True


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT, its timestamp text made once a second (logging's default format of it)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._second, self._stamp = -1, ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return self._time(record.created, record.msecs)

    def _time(self, created: float, msecs: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second))
        return f"{self._stamp},{int(msecs):03d}"

    def access(self, created: float, message: str, fields: dict[str, Any], rid: str) -> str:
        """The line `format` makes of an INFO record of ACCESS_LOGGER, without the record."""
        tag = f" [request {rid}]" if rid else ""
        stamp = self._time(created, _msecs(created))
        return f"{stamp} {PID.value} INFO {ACCESS_LOGGER}: {message}{tag}"


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "pid", "msg", "request_id"?, <fields>, "exc"?}`."""

    def __init__(self) -> None:
        super().__init__()
        self._second, self._stamp = -1, ""

    def format(self, record: logging.LogRecord) -> str:
        line = self._line(
            record.created, record.levelname.lower(), record.name, record.process,
            record.getMessage(), getattr(record, "request_id", ""),
        )  # fmt: skip
        line.update(getattr(record, "fields", ()))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return _dumps(line)

    def access(self, created: float, message: str, fields: dict[str, Any], rid: str) -> str:
        """The line `format` makes of an INFO record of ACCESS_LOGGER, without the record."""
        line = self._line(created, "info", ACCESS_LOGGER, PID.value, message, rid)
        line.update(fields)
        return _dumps(line)

    def _line(
        self, created: float, level: str, name: str, pid: int | None, message: str, rid: str
    ) -> dict[str, Any]:
        line: dict[str, Any] = {
            "ts": self._iso(created), "level": level, "logger": name, "pid": pid, "msg": message,
        }  # fmt: skip
        if rid:
            line["request_id"] = rid
        return line

    def _iso(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int(created % 1 * 1000):03d}Z"


class BatchedHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes its lines in batches: at once for WARNING and worse or a
    full buffer, else within FLUSH_EVERY seconds from a background thread (in a forked child:
    each at once). `flush()` (called
    by logging at exit) writes what is pending; a SIGKILL loses at most FLUSH_EVERY of lines."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._size = 0
        self._closed = threading.Event()
        self._batched = True
        _HANDLERS.add(self)
        self._start_flusher()

    def emit(self, record: logging.LogRecord) -> None:  # called with self.lock held
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._pending.append(line)
        self._size += len(line)
        if not self._batched or record.levelno >= logging.WARNING or self._size >= FLUSH_SIZE:
            self._write()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # an RLock: emit may hold it already
            self._write()

    def add_line(self, line: str) -> None:
        """A line formatted already (an INFO one: batched like emit's)."""
        with self.lock:  # type: ignore[union-attr]
            self._pending.append(line)
            self._size += len(line)
            if not self._batched or self._size >= FLUSH_SIZE:
                self._write()

    def close(self) -> None:
        self._closed.set()
        self.flush()
        super().close()

    def _write(self) -> None:
        if self._pending:
            lines, self._pending, self._size = self._pending, [], 0
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed or gone: the lines cannot be shown
                pass

    def _start_flusher(self) -> None:
        threading.Thread(target=self._flush_loop, name="log-flush", daemon=True).start()

    def _flush_loop(self) -> None:
        while not self._closed.wait(FLUSH_EVERY):
            self.flush()

    def _forked(self) -> None:
        """In a forked child (RQ's work horse): the parent's pending lines are the parent's to
        write; the child writes each line at once, as it ends by os._exit (no flush at exit)."""
        self._pending, self._size = [], 0
        self._batched = False


_HANDLERS: weakref.WeakSet[BatchedHandler] = weakref.WeakSet()


def _after_fork() -> None:
    for handler in list(_HANDLERS):
        handler._forked()


os.register_at_fork(after_in_child=_after_fork)


def _msecs(created: float) -> float:
    """LogRecord's msecs of a record made at `created` (Python 3.11's arithmetic)."""
    return int((created - int(created)) * 1000) + 0.0


def access(message: str, fields: dict[str, Any]) -> None:
    """An INFO line of ACCESS_LOGGER, as `logging.getLogger(ACCESS_LOGGER).info(message,
    extra={"fields": fields})` writes it; straight into our handler's batch while the logging
    setup is still the one `configure` made (a LogRecord, its filters and handler calls were
    ~10 µs of every request), else through logging (tests' caplog, another handler added)."""
    handler = _ROOT_HANDLER
    logger = _ACCESS
    root = logging.root
    if (
        handler is not None
        and root.handlers == [handler]
        and not logger.handlers
        and logger.propagate
        and not logger.filters
        and not root.filters
        and isinstance(handler.formatter, TextFormatter | JsonFormatter)
    ):
        line = handler.formatter.access(time.time(), message, fields, REQUEST_ID.get())
        handler.add_line(line)
        return
    logger.info("%s", message, extra={"fields": fields})


_ACCESS = logging.getLogger(ACCESS_LOGGER)
_ROOT_HANDLER: BatchedHandler | None = None  # what `configure` installed on the root logger


def _dumps(line: dict[str, Any]) -> str:
    if orjson is not None:
        return orjson.dumps(line, default=str).decode()
    return json.dumps(line, ensure_ascii=False, default=str)


def configure(telemetry: Telemetry | None = None) -> None:
    """Replace the root logger's handlers with one on stderr in the configured format."""
    telemetry = telemetry or Telemetry()
    global _ROOT_HANDLER
    handler = BatchedHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    json_lines = telemetry.log_format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    logging.basicConfig(level=telemetry.log_level.upper(), handlers=[handler], force=True)
    _ROOT_HANDLER = handler
    # No line shows the caller's file or thread: not looking them up is the logging HOWTO's
    # own advice for speed (the pid stays, in every line).
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    logging.logProcesses = False  # the filter stamps the cached pid instead
