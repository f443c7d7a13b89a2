"""What the SMTP edge answers, and the one mapping from the project's errors to SMTP replies.

Anything that is not the sender's fault is a temporary failure (4xx): the sending server keeps
the mail and retries, so nothing is lost while storage is down or a bug is being fixed.
"""

from __future__ import annotations

import logging

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels.errors import PayloadTooLarge, StorageUnavailable

log = logging.getLogger(__name__)

STORED = "250 2.0.0 OK: message stored"
ACCEPTED_RCPT = "250 2.1.5 OK"
UNKNOWN_RCPT = "550 5.1.1 No such recipient here"
TOO_MANY_RCPTS = "452 4.5.3 Too many recipients"
TOO_BIG = "552 5.3.4 Message too big for this system"
STORAGE_DOWN = "451 4.3.0 Storage unavailable, try again later"
TRY_LATER = "451 4.3.0 Temporary failure, try again later"

TRANSIENT = (StorageUnavailable, RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError)


def reply_for(error: BaseException) -> str:
    """The reply for an error raised while storing a message."""
    if isinstance(error, PayloadTooLarge):
        return TOO_BIG
    if isinstance(error, TRANSIENT):
        log.warning("smtp: storage unavailable: %s", error)
        return STORAGE_DOWN
    log.error("smtp: internal error while storing a message", exc_info=error)
    return TRY_LATER
