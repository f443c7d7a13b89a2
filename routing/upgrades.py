"""Stored-data upgrades: what a version does once over data an older one stored (an index it
did not keep yet), run at start before the gateway serves.

Each walks the case ids in batches, one atomic step each (routing/lua/upgrade.lua), its progress
kept in `{p}upgrades`: a restart carries on where it stopped, processes starting together share
the work, and an upgrade that is done costs one call.
"""

from __future__ import annotations

import logging
import time

from routing.scripts import Scripts

log = logging.getLogger(__name__)

UPGRADES = ("folders",)  # in the order they run; a name is never reused
BATCH = 500  # case ids per step: a step keeps Redis busy for about a millisecond


async def run(scripts: Scripts) -> dict[str, int]:
    """Every upgrade brought to its end: the cases each handled in this call."""
    handled: dict[str, int] = {}
    for name in UPGRADES:
        handled[name] = 0
        while True:
            result = await scripts.upgrade(int(time.time() * 1000), name, BATCH)
            handled[name] += int(result["handled"])
            if result["done"]:
                break
        if handled[name]:
            log.info("stored-data upgrade %s: %d cases", name, handled[name])
    return handled
