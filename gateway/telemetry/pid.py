"""This process's id, asked of the kernel once and again only after a fork.

os.getpid is a system call, and under load on this kind of machine a costly one: logging asks
it for every record and prometheus_client's multiprocess values for every observation (together
~20 % of the SMS intake's samples).
"""

from __future__ import annotations

import os


class CachedPid:
    def __init__(self) -> None:
        self.value = os.getpid()
        os.register_at_fork(after_in_child=self.refresh)

    def refresh(self) -> None:
        self.value = os.getpid()

    def __call__(self) -> int:
        return self.value


PID = CachedPid()
