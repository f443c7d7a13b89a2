"""`[logging]` and `[metrics]`: how the gateway reports on itself.

```toml
[logging]
format = "text"   # or "json": one JSON object per line, for log shippers
level = "info"    # debug, info, warning, error

[metrics]
per_process = true   # the latency histograms and counters; false: only the Redis-derived ones
worker_http = "127.0.0.1:9464"   # a `python -m worker` run on its own serves its /metrics here
```
"""

from __future__ import annotations

from dataclasses import dataclass

from channels.settings import Table

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class Telemetry:
    log_format: str = "text"
    log_level: str = "info"
    per_process_metrics: bool = True
    worker_http: tuple[str, int] | None = None  # where a lone worker serves /metrics (worker/)


def read(root: Table) -> Telemetry:
    logs, metrics = root.table("logging"), root.table("metrics")
    log_format, level = logs.choice("format", FORMATS), logs.choice("level", LEVELS)
    telemetry = Telemetry(
        log_format=log_format if log_format in FORMATS else "text",
        log_level=level if level in LEVELS else "info",
        per_process_metrics=metrics.flag("per_process", True),
        worker_http=metrics.host_port("worker_http", "") if metrics.text("worker_http") else None,
    )
    logs.close()
    metrics.close()
    return telemetry
