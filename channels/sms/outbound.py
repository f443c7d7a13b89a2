"""Replies on generic-SMS cases: a signed JSON POST to `[channels.sms].outbound_url`.

The body is `{"id", "to", "text"}` (`id` names the timeline entry, so a provider can drop a
repeat), signed like the inbound webhook (`X-Intake-Signature` with the channel's secret). The
provider's answer may carry its own message id (`{"id": ...}`); else ours is kept.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from channels.outbound import Deferred, Delivery, Failed
from channels.signature import sign
from channels.sms.settings import SmsSettings

TIMEOUT = 15.0  # seconds


def send(settings: SmsSettings, delivery: Delivery) -> str:
    message_id = f"{delivery.case_id}-{delivery.entry_id}"
    body = json.dumps({"id": message_id, "to": delivery.to, "text": delivery.text}).encode()
    request = urllib.request.Request(
        settings.outbound_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Intake-Signature": sign(settings.secret.reveal(), body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            answer = response.read()
    except urllib.error.HTTPError as error:
        reason = f"HTTP {error.code} {error.reason}"
        if error.code >= 500 or error.code in (408, 429):
            raise Deferred(reason) from None
        raise Failed(reason) from None
    except (urllib.error.URLError, OSError) as error:  # refused, reset, timed out
        raise Deferred(f"{type(error).__name__}: {error}") from None
    return _provider_id(answer) or message_id


def _provider_id(answer: bytes) -> str:
    try:
        found = json.loads(answer)
    except ValueError:
        return ""
    value = found.get("id") if isinstance(found, dict) else None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
