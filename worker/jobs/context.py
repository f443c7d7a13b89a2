"""What jobs need from the worker process: its config (`python -m worker` sets it at start)."""

from __future__ import annotations

from gateway.config import Config

_running: list[Config] = []


def use(config: Config) -> None:
    """The config jobs of this process use from now on."""
    _running[:] = [config]


def config() -> Config:
    if not _running:
        raise RuntimeError("no config: jobs run in a worker started by `python -m worker`")
    return _running[0]
