"""Child processes of `serve`: started, restarted with backoff when they die, stopped in order.

Generic over command lines; `gateway/server.py` decides which children a deployment runs.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
TICK = 0.2  # seconds between checks of the children
STABLE_AFTER = 10.0  # a child that lived this long starts its backoff over
MAX_BACKOFF = 10.0
# loaded before any fork: preexec_fn runs between fork and exec, no place for dlopen
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent(parent: int) -> None:
    """`preexec_fn`: the kernel sends SIGTERM to the child when its parent dies.

    Without it a SIGKILLed `serve` would leave acceptors, workers and Valkey running.
    """
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)


def spawn(
    argv: Sequence[str], env: Mapping[str, str] | None = None, pass_fds: Sequence[int] = ()
) -> subprocess.Popen[bytes]:
    """Start a child in its own process group, so a terminal's Ctrl-C reaches only `serve`,
    which then stops the children in order instead of all at once."""
    guard = functools.partial(die_with_parent, os.getpid())
    return subprocess.Popen(argv, env=env, preexec_fn=guard, process_group=0, pass_fds=pass_fds)


def stop_process(proc: subprocess.Popen[bytes], name: str, timeout: float) -> None:
    """SIGTERM, wait up to `timeout`, then SIGKILL."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s (pid %d) did not stop within %.0fs; killing it", name, proc.pid, timeout)
        proc.kill()
        proc.wait()


def backoff(failures: int) -> float:
    """Seconds before the next start after `failures` quick deaths in a row."""
    return min(0.25 * 2.0**failures, MAX_BACKOFF)


@dataclass
class Child:
    """One slot (e.g. `acceptor-2`): whichever process currently fills it."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None  # None: inherit ours
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0  # consecutive deaths soon after start
    restart_at: float | None = None
    on_exit: Callable[[int], None] | None = None  # told the pid of each process that ended

    def start(self) -> None:
        self.proc = spawn(self.argv, self.env)
        self.started_at = time.monotonic()
        self.restart_at = None
        log.info("started %s (pid %d)", self.name, self.proc.pid)

    def check(self) -> None:
        """Schedule a restart when the process died; start it when its backoff is over."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
            return
        if self.proc is None or self.proc.poll() is None:
            return
        self.exited()
        lived = now - self.started_at
        self.failures = 0 if lived >= STABLE_AFTER else self.failures + 1
        delay = backoff(self.failures)
        log.warning(
            "%s (pid %d) exited with %s after %.1fs; restarting in %.2fs",
            self.name, self.proc.pid, self.proc.returncode, lived, delay,
        )  # fmt: skip
        self.restart_at = now + delay

    def exited(self) -> None:
        if self.on_exit is not None and self.proc is not None:
            self.on_exit(self.proc.pid)


def stop_on_signals() -> threading.Event:
    """An event that SIGINT and SIGTERM set from now on (instead of killing us at once)."""
    stopping = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        log.info("got %s; stopping", signal.Signals(signum).name)
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    return stopping


@dataclass
class Supervisor:
    children: list[Child]
    grace: float  # how long a child may take to stop after SIGTERM
    stopping: threading.Event  # from `stop_on_signals`
    # checked every tick before the children, e.g. the embedded Valkey's `check`; what they
    # raise ends `run` (the children are stopped first)
    watches: Sequence[Callable[[], None]] = ()

    def run(self) -> None:
        """Run the children until `stopping` is set, then stop them all."""
        try:
            for child in self.children:
                if not self.stopping.is_set():
                    child.start()
            while not self.stopping.wait(TICK):
                for watch in self.watches:
                    watch()
                for child in self.children:
                    child.check()
        finally:
            self.stop()

    def stop(self) -> None:
        """SIGTERM every child at once (they drain in parallel), then wait for each."""
        running = [c for c in self.children if c.proc and c.proc.poll() is None]
        for child in running:
            assert child.proc is not None
            child.proc.terminate()
        deadline = time.monotonic() + self.grace
        for child in running:
            assert child.proc is not None
            stop_process(child.proc, child.name, max(deadline - time.monotonic(), 0.1))
            child.exited()
            log.info("%s (pid %d) stopped", child.name, child.proc.pid)


def python_module(module: str, *args: str) -> list[str]:
    """Command line running `python -m module` with the interpreter running `serve`."""
    return [sys.executable, "-m", module, *args]
