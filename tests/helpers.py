"""Helpers for tests that run the product as real processes: free ports, `serve`, /proc checks.

Fixtures built on these live in `tests/conftest.py`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CONFIG = ROOT / "config.toml"
# The sample's case types and SLAs, for tests that write their own routing configs.
TYPES_AND_SLAS = """\
[types]
complaint = 1
request = 2
consultation = 3
default = "request"
[sla.1]
reaction = "15m"
resolution = "4h"
[sla.2]
reaction = "1h"
resolution = "1d"
[sla.3]
reaction = "4h"
resolution = "3d"
"""
EMBEDDED = re.compile(r"embedded valkey at (unix://(\S+))")  # serve's startup log line


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def product_env(**extra: str) -> dict[str, str]:
    """Our environment without INTAKE_* settings, able to import the repository's packages."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("INTAKE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return {**env, **extra}


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `check` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def get_json(url: str, timeout: float = 5) -> tuple[int, Any]:
    """(status, parsed body) of a GET on a fresh connection; (0, None) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
    except OSError:
        return 0, None


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def descendants(pid: int) -> dict[int, str]:
    """Every live process below `pid`, with its command line."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found[child] = cmdline(child)
        todo.extend(children.get(child, []))
    return {child: line for child, line in found.items() if alive(child)}


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


class Serve:
    """A `python -m gateway serve` process; its stdout and stderr go to `log_path`."""

    def __init__(self, cwd: Path, *args: str, config: Path = SAMPLE_CONFIG) -> None:
        self.http_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.http_port}"
        self.log_path = cwd / f"serve-{self.http_port}.log"
        argv = ["--config", str(config), "--http", f"127.0.0.1:{self.http_port}"]
        self.smtp_port = free_port()
        argv += ["--smtp", f"127.0.0.1:{self.smtp_port}", *args]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", *argv],
                cwd=cwd, env=product_env(), stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def readyz(self) -> tuple[int, Any]:
        return get_json(self.base_url + "/readyz")

    def wait_ready(self, timeout: float = 20) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited with {self.proc.returncode}:\n{self.log()}")
            return self.readyz()[0] == 200

        wait_for(ready, timeout, "/readyz")

    def embedded_url(self) -> str:
        match = EMBEDDED.search(self.log())
        assert match, self.log()
        return match[1]

    def _socket_dir(self) -> str | None:
        match = EMBEDDED.search(self.log())
        return os.path.dirname(match[2]) if match else None

    def children(self, marker: str) -> list[int]:
        """Pids of descendants whose command line contains `marker`."""
        return sorted(pid for pid, line in descendants(self.proc.pid).items() if marker in line)

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM and the exit status; fails the test when it takes longer than `timeout`."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"serve ignored SIGTERM for {timeout}s:\n{self.log()}") from None

    def kill(self) -> None:
        """Last-resort cleanup: children follow through PR_SET_PDEATHSIG."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            socket_dir = self._socket_dir()
            if socket_dir:  # removing it was the killed process's job
                shutil.rmtree(socket_dir, ignore_errors=True)
