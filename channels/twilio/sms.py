"""Twilio Messaging webhook → `InboundMessage`, media references, and the empty TwiML answer.

Media are not fetched here: a worker job downloads each `Media` with the account credentials,
and only after `media_url_allowed` says the URL is on the configured API host.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from channels import validate
from channels.message import InboundMessage
from channels.phones import normalize
from channels.rejection import invalid
from channels.twilio.sids import sid
from channels.urlencoded import Form

SCOPE = "twilio-sms"
MAX_MEDIA = 10  # Twilio attaches at most ten media to one message
MAX_TEXT = 4096  # Twilio bodies stop at 1600 characters; leave room, refuse floods
DEFAULT_MEDIA_TYPE = "application/octet-stream"
DEFAULT_PORTS = {"http": 80, "https": 443}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@dataclass(frozen=True)
class Media:
    url: str
    content_type: str


@dataclass(frozen=True)
class TwilioSms:
    message: InboundMessage
    account_sid: str
    media: tuple[Media, ...]


def parse(form: Form, region: str) -> TwilioSms:
    """The verified form of `POST /hooks/twilio/sms`; a wrong field raises `Rejected`."""
    media = _media(form)
    message = InboundMessage(
        channel="sms",
        dedupe_scope=SCOPE,
        delivery_id=sid(form, "MessageSid"),
        sender_phone=normalize(form.text("From", max_len=64), region),
        to=normalize(form.text("To", max_len=64), region),
        text=form.text("Body", required=False, max_len=MAX_TEXT),
        threading="sms",
        media=tuple((m.url, m.content_type) for m in media),
    )
    return TwilioSms(message, sid(form, "AccountSid", required=False), media)


def _media(form: Form) -> tuple[Media, ...]:
    found = []
    for index in range(form.whole("NumMedia", MAX_MEDIA) or 0):
        url = validate.http_url(form.get(f"MediaUrl{index}"), f"MediaUrl{index}")
        kind = form.text(f"MediaContentType{index}", required=False, max_len=255)
        if kind and ("/" not in kind or not kind.isascii()):
            raise invalid(f"MediaContentType{index}", "A media type looks like 'image/jpeg'.")
        found.append(Media(url, kind.lower() or DEFAULT_MEDIA_TYPE))
    return tuple(found)


def media_url_allowed(url: str, api_base: str) -> bool:
    """True only for a URL on exactly `api_base`'s scheme, host and port (no SSRF)."""
    target = _origin(url)
    return target is not None and target == _origin(api_base)


def _origin(url: str) -> tuple[str, str, int] | None:
    if not url.isascii() or any(c <= " " or c in "\\\x7f" for c in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    default = DEFAULT_PORTS.get(parts.scheme)
    if default is None or "@" in parts.netloc or not parts.hostname:
        return None
    return (parts.scheme, parts.hostname, default if port is None else port)


def twiml_empty() -> str:
    return EMPTY_TWIML
