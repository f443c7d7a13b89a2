"""`python -m worker`: one RQ worker (with RQ's scheduler) on the `intake` queue.

`serve` starts N of these; hosts that only run workers start them directly with a Redis URL
(and, with `[metrics] worker_http`, their own `/metrics`: worker/metrics.py).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.process.options import add_config_options, child_config, format_host_port
from gateway.runtime.connection import sync_client
from gateway.telemetry.exposition import MULTIPROCESS
from worker.counted import CountedWorker
from worker.jobs import context
from worker.metrics import serve_metrics
from worker.queues import queue

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Work until SIGTERM/SIGINT (RQ's warm shutdown: the running job finishes first)."""
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__)
    add_config_options(parser)
    config = child_config(parser, argv)
    if config is None:
        return 1
    context.use(config)
    address = config.telemetry.worker_http
    if address and not MULTIPROCESS:  # under `serve`, the acceptors' /metrics shows ours
        try:
            serve_metrics(address, config.admin_token)
        except OSError as error:
            log.error("[metrics] worker_http %s: %s", format_host_port(address), error)
            return 1
    connection = sync_client(config.redis_url, config.redis)
    try:
        CountedWorker([queue(connection)], connection=connection).work(with_scheduler=True)
    except RedisConnectionError as error:  # `serve` restarts us; alone, the caller retries
        log.error("Redis is not reachable: %s", error)
        return 1
    return 0
