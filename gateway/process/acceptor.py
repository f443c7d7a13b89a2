"""One acceptor process: the aiohttp app (and, through its cleanup_ctx, the background work).

`serve` starts N of them on one port (SO_REUSEPORT); SIGTERM drains in-flight requests, exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from aiohttp import web

from gateway.config import Config
from gateway.http.app import build_app
from gateway.http.errors import AppRunner
from gateway.process.options import (
    SHUTDOWN_TIMEOUT,
    add_config_options,
    add_listen_options,
    child_config,
    format_host_port,
)
from gateway.smtp.lifecycle import smtp_ctx
from routing.scripts import FunctionsUnsupported

log = logging.getLogger("gateway.process.acceptor")  # not __main__ under `python -m`


async def run_app(config: Config) -> None:
    """Serve until SIGINT/SIGTERM; then stop listening, drain, and run the cleanup contexts."""
    stop = stop_event()
    # Not aiohttp's access log (its formatting cost ~15 % of the intake path): ours is one line
    # per request from gateway/http/observe.py, with the route template and the request id.
    app = build_app(config, config.redis_url)
    app.cleanup_ctx.append(smtp_ctx)  # after the Redis client, so it closes first
    runner = AppRunner(app, shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None)
    if not await _set_up(runner, stop):
        return  # stopped while still waiting for Redis at start: nothing to drain
    try:
        host, port = config.http
        await web.TCPSite(runner, host, port, reuse_port=True).start()
        log.info("acceptor listening on http://%s", format_host_port(config.http))
        await stop.wait()
    finally:
        await runner.cleanup()


async def _set_up(runner: AppRunner, stop: asyncio.Event) -> bool:
    """runner.setup() (it enters the cleanup contexts: Redis client, singletons), given up when
    a signal comes first: startup waits while Redis is away, and a parent that died (SIGTERM by
    PR_SET_PDEATHSIG) must not leave us waiting for it forever."""
    setup = asyncio.ensure_future(runner.setup())
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({setup, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if setup.done():
        setup.result()
        return True
    setup.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await setup
    return False


def stop_event() -> asyncio.Event:
    """Set by SIGINT/SIGTERM; installed first so that a signal during startup still drains."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def run(main: Coroutine[Any, Any, None]) -> None:
    """asyncio.run, on uvloop when it is installed (the optional `fast` extra)."""
    with asyncio.Runner(loop_factory=uvloop_factory()) as runner:
        runner.run(main)


def uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.process.acceptor", description=__doc__)
    add_config_options(parser)
    add_listen_options(parser)
    config = child_config(parser, argv)
    if config is None:
        return 1
    try:
        run(run_app(config))
    except FunctionsUnsupported as error:  # one clear line, not a trace: upgrade the server
        log.error("cannot start: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
