"""The per-process metrics, each process counting its own; under `serve` they are summed across
acceptors and workers by prometheus_client's multiprocess mode (gateway/telemetry/multiproc.py).

Durations are in seconds, as Prometheus names them; labels are bounded sets (route templates,
channel names, reply codes, Lua function names), never raw paths or ids.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram, values

from gateway.telemetry.pid import PID

# multiprocess values ask their process id on every observation: the cached one (made before
# the first metric is)
if getattr(values.ValueClass, "_multiprocess", False):
    values.ValueClass = values.MultiProcessValue(process_identifier=PID)  # type: ignore[no-untyped-call]

FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SLOW = (0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)

HTTP_REQUESTS = Counter(
    "intake_http_requests_total",
    "HTTP requests answered, by route template, method and status class (2xx, 4xx...).",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "intake_http_request_duration_seconds",
    "Time from routing a request to its answer, by route template.",
    ["route"],
    buckets=FAST,
)
INTAKE_SECONDS = Histogram(
    "intake_intake_duration_seconds",
    "Storing one inbound message (blobs, then the Lua step), by channel.",
    ["channel"],
    buckets=FAST,
)
LUA_SECONDS = Histogram(
    "intake_lua_step_duration_seconds",
    "One Lua function call in Redis, round trip included, by function.",
    ["function"],
    buckets=FAST,
)
SMTP_REPLIES = Counter("intake_smtp_replies_total", "SMTP replies sent, by reply code.", ["code"])
OUTBOX_LAG = Histogram(
    "intake_outbox_lag_seconds",
    "From an outbox entry's write to its RQ job being enqueued.",
    ["job"],
    buckets=SLOW,
)
RQ_JOBS = Counter(
    "intake_rq_jobs_total",
    "RQ jobs run by the workers, by job function and outcome (finished, failed, ...).",
    ["job", "outcome"],
)


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# labelled children by their labels: `labels()` costs as much as the observation itself
_LUA: dict[str, Any] = {}
_INTAKE: dict[str, Any] = {}
_HTTP: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def lua_step(function: str, seconds: float) -> None:
    """routing/scripts.py's observer (routing knows no metrics library)."""
    child = _LUA.get(function) or _LUA.setdefault(function, LUA_SECONDS.labels(function))
    child.observe(seconds)


def intake_step(channel: str, seconds: float) -> None:
    child = _INTAKE.get(channel) or _INTAKE.setdefault(channel, INTAKE_SECONDS.labels(channel))
    child.observe(seconds)


def http_request(route: str, method: str, status: int, seconds: float) -> None:
    """`method` outside the standard ones counts as `other`: a client picks it, and every
    label value is a time series kept forever."""
    key = (route, method if method in METHODS else "other", f"{status // 100}xx")
    children = _HTTP.get(key)
    if children is None:
        children = _HTTP.setdefault(key, (HTTP_REQUESTS.labels(*key), HTTP_SECONDS.labels(route)))
    children[0].inc()
    children[1].observe(seconds)
