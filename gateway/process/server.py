"""`serve`: the embedded Valkey (when no URL is set), acceptor and worker children, shutdown order.

Acceptors share the HTTP and SMTP ports with SO_REUSEPORT; see `gateway/acceptor.py`.
"""

from __future__ import annotations

import logging
import os
import socket

from channels.errors import StorageUnavailable
from gateway.config import Config
from gateway.process.embedded import EmbeddedValkey
from gateway.process.options import SHUTDOWN_TIMEOUT, format_host_port
from gateway.process.supervisor import Child, Supervisor, python_module, stop_on_signals

log = logging.getLogger(__name__)

WORKER_GRACE = 5.0  # after the acceptors' own drain time, for a job to end or the loop to exit


def serve(config: Config) -> int:
    """Run until SIGINT/SIGTERM; 0 after a clean stop, 1 when something could not start."""
    try:
        for address in (config.http, config.smtp):
            check_bindable(address)
    except OSError as error:
        log.error("cannot listen: %s", error)
        return 1
    stopping = stop_on_signals()
    valkey = None if config.redis_url else EmbeddedValkey(config.redis_data_dir)
    try:
        redis_url = valkey.start() if valkey else config.redis_url
        log.info(
            "serving http on %s, smtp on %s: %d acceptor(s), %d worker(s)",
            format_host_port(config.http), format_host_port(config.smtp),
            config.processes, config.workers,
        )  # fmt: skip
        Supervisor(children(config, redis_url), SHUTDOWN_TIMEOUT + WORKER_GRACE, stopping).run()
    except StorageUnavailable as error:
        log.error("%s", error.message)
        return 1
    finally:
        if valkey:
            valkey.stop()
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


def children(config: Config, redis_url: str) -> list[Child]:
    """Every child gets the same config file and the resolved Redis URL; the URL goes in the
    environment because it may hold a password, which `ps` would show on a command line."""
    env = {**os.environ, "INTAKE_REDIS_URL": redis_url}
    common = ["--config", os.path.abspath(config.path)]
    listen = ["--http", format_host_port(config.http), "--smtp", format_host_port(config.smtp)]
    acceptor = python_module("gateway.process.acceptor", *common, *listen)
    worker = python_module("worker", *common)
    return [
        *(Child(f"acceptor-{n}", acceptor, env) for n in range(1, config.processes + 1)),
        *(Child(f"worker-{n}", worker, env) for n in range(1, config.workers + 1)),
    ]
