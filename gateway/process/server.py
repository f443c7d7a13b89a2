"""`serve`: the embedded Valkey (when no URL is set), acceptor and worker children, shutdown order.

Acceptors share the HTTP and SMTP ports with SO_REUSEPORT; see `gateway/acceptor.py`.
"""

from __future__ import annotations

import logging
import os
import socket

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from channels.errors import StorageUnavailable
from gateway.config import Config
from gateway.process.embedded import EmbeddedValkey
from gateway.process.options import SHUTDOWN_TIMEOUT, format_host_port
from gateway.process.supervisor import Child, Supervisor, python_module, stop_on_signals
from gateway.redis_settings import RedisSettings
from gateway.runtime.connection import close, sync_client
from gateway.telemetry.multiproc import MetricsDir

log = logging.getLogger(__name__)

WORKER_GRACE = 5.0  # after the acceptors' own drain time, for a job to end or the loop to exit


def serve(config: Config) -> int:
    """Run until SIGINT/SIGTERM; 0 after a clean stop, 1 when something could not start or
    the embedded Valkey could not be brought back (see `EmbeddedValkey.check`)."""
    try:
        for address in (config.http, config.smtp):
            check_bindable(address)
    except OSError as error:
        log.error("cannot listen: %s", error)
        return 1
    stopping = stop_on_signals()
    metrics = MetricsDir(dict(os.environ))
    valkey = (
        None if config.redis_url or config.redis.sentinels
        else EmbeddedValkey(config.redis_data_dir, config.redis_durability)
    )  # fmt: skip
    try:
        redis_url = valkey.start() if valkey else config.redis_url
        if not valkey:
            check_durability(redis_url, config.redis_durability, config.redis)
        log.info(
            "serving http on %s, smtp on %s: %d acceptor(s), %d worker(s)",
            format_host_port(config.http), format_host_port(config.smtp),
            config.processes, config.workers,
        )  # fmt: skip
        grace = SHUTDOWN_TIMEOUT + WORKER_GRACE
        watches = [valkey.check] if valkey else []
        Supervisor(children(config, redis_url, metrics), grace, stopping, watches).run()
    except StorageUnavailable as error:
        log.error("%s", error.message)
        return 1
    finally:
        if valkey:
            valkey.stop()
        metrics.remove()
    log.info("stopped")
    return 0


def check_bindable(address: tuple[str, int]) -> None:
    """Fail before starting anything when the port is taken or the host is not ours.

    SO_REUSEPORT as the acceptors use it: a port held by an earlier acceptor of ours is fine.
    """
    host, port = address
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    ):
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(sockaddr)


def check_durability(redis_url: str, durability: str, connect: RedisSettings) -> None:
    """An external server's own AOF settings decide what a crash of its host loses: warn when
    they give less than `[redis].durability` asks (a managed server may hide CONFIG)."""
    client = sync_client(
        redis_url, connect, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )  # fmt: skip
    try:
        settings = client.config_get("append*")
    except (redis.RedisError, OSError) as error:
        log.warning("cannot read the Redis server's persistence settings (%s); durability %r "
                    "is what its appendfsync gives", error, durability)  # fmt: skip
        return
    finally:
        close(client)
    aof, fsync = settings.get("appendonly"), settings.get("appendfsync")
    if aof != "yes" or fsync not in ("always", durability):
        log.warning(
            '[redis].durability is "%s" but the Redis server has appendonly %s, appendfsync '
            "%s: set appendonly yes and appendfsync %s there, or a crash of its host can lose "
            "acknowledged messages", durability, aof, fsync, durability,
        )  # fmt: skip


def children(config: Config, redis_url: str, metrics: MetricsDir) -> list[Child]:
    """Every child gets the same config file and the resolved Redis URL; the URL goes in the
    environment because it may hold a password, which `ps` would show on a command line.
    All of them write their metrics to `metrics` (prometheus_client's multiprocess mode)."""
    env = metrics.child_env({**os.environ, "INTAKE_REDIS_URL": redis_url})
    common = ["--config", os.path.abspath(config.path)]
    listen = ["--http", format_host_port(config.http), "--smtp", format_host_port(config.smtp)]
    acceptor = python_module("gateway.process.acceptor", *common, *listen)
    worker = python_module("worker", *common)
    return [
        *(
            Child(f"acceptor-{n}", acceptor, env, on_exit=metrics.process_dead)
            for n in range(1, config.processes + 1)
        ),
        *(
            Child(f"worker-{n}", worker, env, on_exit=metrics.process_dead)
            for n in range(1, config.workers + 1)
        ),
    ]
