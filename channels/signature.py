"""`X-Intake-Signature` for the generic webhooks: `t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>`."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from channels.errors import Unauthorized
from channels.settings import Secret

MAX_AGE = 300  # seconds; older (or further in the future) signatures are replayed or forged
# The only shape `sign` writes (parts in any order); anything else is refused before parsing,
# so non-ASCII or megabyte-long parts never reach int() or compare_digest().
SHAPE = re.compile(r"(?:t=[0-9]{1,12},v1=[0-9a-f]{64}|v1=[0-9a-f]{64},t=[0-9]{1,12})")


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(
    secret: Secret | None, header: str | None, body: bytes, now: float | None = None
) -> None:
    """Raise `Unauthorized` unless `header` signs `body` with `secret` within MAX_AGE.

    No secret (the channel's section is absent) means the webhook is off."""
    if not secret:
        raise Unauthorized("This webhook has no secret configured.", code="webhook_disabled")
    if not header:
        raise Unauthorized("X-Intake-Signature is missing.", code="missing_signature")
    if not SHAPE.fullmatch(header):
        raise Unauthorized("X-Intake-Signature is malformed.", code="bad_signature")
    parts = dict(part.split("=", 1) for part in header.split(","))
    t, given = int(parts["t"]), parts["v1"]
    if abs((time.time() if now is None else now) - t) > MAX_AGE:
        raise Unauthorized("X-Intake-Signature is too old.", code="stale_signature")
    expected = sign(secret.reveal(), body, t).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise Unauthorized("X-Intake-Signature does not match.", code="bad_signature")
