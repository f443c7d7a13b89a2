"""Outbound SMS through Twilio's REST API (Messages.json), blocking: called from an RQ job.

Errors use the delivery family of the outbound e-mail path: `Deferred` (5xx, 429, a
timeout or a dropped connection: the job may try again) and `Failed` (any other 4xx,
or an answer without a message SID: trying again cannot help, or might send twice).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from channels.outbound import Deferred, Failed
from channels.twilio_settings import TwilioSettings

TIMEOUT = 10.0  # seconds for the whole request; Twilio answers within one normally
MAX_ANSWER = 64 * 1024


def basic_auth(settings: TwilioSettings) -> str:
    pair = f"{settings.account_sid}:{settings.auth_token.reveal()}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def send_sms(
    settings: TwilioSettings,
    to: str,
    from_: str,
    body: str,
    *,
    status_callback: str = "",
    timeout: float = TIMEOUT,
) -> str:
    """Send one SMS; the message SID Twilio gave it (`SM...`)."""
    account = urllib.parse.quote(settings.account_sid, safe="")
    url = f"{settings.api_base}/2010-04-01/Accounts/{account}/Messages.json"
    fields = {"To": to, "From": from_, "Body": body}
    if status_callback:
        fields["StatusCallback"] = status_callback
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Authorization": basic_auth(settings), "Accept": "application/json"},
        method="POST",
    )
    return _sid(_post(request, timeout))


def _post(request: urllib.request.Request, timeout: float) -> Any:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read(MAX_ANSWER)
    except urllib.error.HTTPError as error:
        raise _refusal(error) from None
    except (OSError, ValueError) as error:  # timeouts, refused and dropped connections
        raise Deferred(f"Twilio unreachable: {type(error).__name__}: {error}") from None
    try:
        return json.loads(raw)
    except ValueError:
        raise Failed("Twilio accepted the message but its answer is not JSON.") from None


def _refusal(error: urllib.error.HTTPError) -> Exception:
    detail = _message(error)
    text = f"Twilio answered {error.code}: {detail}"
    if error.code == 429 or error.code >= 500:
        return Deferred(text)
    return Failed(text)


def _message(error: urllib.error.HTTPError) -> str:
    try:
        found = json.loads(error.read(MAX_ANSWER))
    except (OSError, ValueError):
        return error.reason or "no details"
    if isinstance(found, dict) and found.get("message"):
        return f"{found.get('code', '')} {found['message']}".strip()
    return error.reason or "no details"


def _sid(answer: Any) -> str:
    sid = answer.get("sid") if isinstance(answer, dict) else None
    if not isinstance(sid, str) or not sid:
        raise Failed("Twilio accepted the message but gave no message SID.")
    return sid
