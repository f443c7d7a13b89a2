"""Cancellation that is never lost: background loops call `raise_if_cancelled` every turn.

Seen here (Python 3.11, redis-py 5 to 8): a cancel that lands inside a redis-py command is
sometimes swallowed; the task stays `cancelling()` and runs on. Our loops re-raise it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

STOP_GRACE = 2.0  # seconds a cancelled background task gets before shutdown goes on without it


def raise_if_cancelled() -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def stop_tasks(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel and wait a bounded time: shutdown never hangs on a stuck background task."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if not pending:
        return
    _, stuck = await asyncio.wait(pending, timeout=STOP_GRACE)
    for task in stuck:
        log.warning("background task %s did not stop within %.0fs", task.get_name(), STOP_GRACE)
