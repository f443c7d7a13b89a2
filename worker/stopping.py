"""RQ's workers, stopping their pubsub thread without the up-to-60 s wait RQ's order allows.

RQ's `unsubscribe` sends UNSUBSCRIBE, then calls `PubSubWorkerThread.stop()`, which clears
the thread's running flag and (since redis-py 8.2) joins it with no timeout. When the thread
reads the UNSUBSCRIBE reply before the flag is cleared it loops once more and, no longer
subscribed, waits RQ's `sleep_time` (60 s) for a subscription that never comes: the warm
shutdown, and so a SIGTERMed `serve`, hung (until serve's grace ran out and it SIGKILLed the
worker) a few stops in a hundred.
"""

from __future__ import annotations

from rq.worker import BaseWorker


class PromptUnsubscribe(BaseWorker):
    """Mixed in before RQ's `Worker` or `SimpleWorker`."""

    def unsubscribe(self) -> None:
        """Clear the thread's flag first (`stop(timeout=0)` does not wait): whenever the
        UNSUBSCRIBE reply wakes it, the thread then leaves its loop and RQ's join returns."""
        if self.pubsub_thread:
            self.pubsub_thread.stop(timeout=0)
        super().unsubscribe()  # type: ignore[no-untyped-call]
