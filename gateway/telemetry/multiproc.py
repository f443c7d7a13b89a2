"""prometheus_client's multiprocess mode for `serve`: every child writes its metrics to files in
one directory (`PROMETHEUS_MULTIPROC_DIR`), and `/metrics` on any acceptor sums them.

The supervisor makes the directory (in /dev/shm when there is one, or empties the one given
in the environment) before any child starts, tells prometheus_client when a child is gone,
and removes its own at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile

from prometheus_client import multiprocess

ENV = "PROMETHEUS_MULTIPROC_DIR"


SHM = "/dev/shm"  # tmpfs on Linux: every observation writes a memory-mapped page, never a disk


def _memory_dir() -> str | None:
    return SHM if os.path.isdir(SHM) and os.access(SHM, os.W_OK) else None


class MetricsDir:
    def __init__(self, env: dict[str, str]) -> None:
        given = env.get(ENV, "")
        self.owned = not given
        self.path = given or tempfile.mkdtemp(prefix="intake-metrics-", dir=_memory_dir())
        os.makedirs(self.path, exist_ok=True)
        for stale in glob.glob(os.path.join(self.path, "*.db")):  # a previous run's counts
            os.remove(stale)

    def child_env(self, env: dict[str, str]) -> dict[str, str]:
        return {**env, ENV: self.path}

    def process_dead(self, pid: int) -> None:
        multiprocess.mark_process_dead(pid, self.path)  # type: ignore[no-untyped-call]

    def remove(self) -> None:
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)
