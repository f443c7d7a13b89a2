"""`X-Twilio-Signature`, checked as twilio.request_validator.RequestValidator checks it.

The signed string is the URL Twilio was given (`[gateway].public_url` + path + query, not the
address behind a proxy) followed, for form posts, by each distinct parameter name in sorted order
with each of its distinct values, sorted, appended as name + value. A JSON body is instead
covered by a `bodySHA256` query parameter. Twilio's back end is inconsistent about writing the
standard port, so the URL is tried with and without it; a non-standard port is kept as given.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from channels.rejection import Rejected
from channels.urlencoded import Form, parse_form

SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_SIGNATURE = 128  # base64 of a SHA-256 MAC is 44 characters; longer is not Twilio's
HASHES = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}
DEFAULT_PORTS = {"http": 80, "https": 443}
PORT_SUFFIX = re.compile(r":[0-9]*$")


def request_url(public_url: str, path_qs: str) -> str:
    """The URL Twilio signed: `public_url` (maybe with a path prefix) + the raw path and query."""
    return public_url.rstrip("/") + path_qs


def params_string(form: Form) -> str:
    """What follows the URL in the signed string (RequestValidator.compute_signature)."""
    grouped: dict[str, set[str]] = {}
    for name, value in form.pairs:
        grouped.setdefault(name, set()).add(value)
    return "".join(name + value for name in sorted(grouped) for value in sorted(grouped[name]))


def url_variants(url: str) -> tuple[str, ...]:
    """`url` as given, plus the same URL with its standard port added or removed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return (url,)
    default = DEFAULT_PORTS.get(parts.scheme)
    prefix = f"{parts.scheme}://"
    if default is None or not url.startswith(prefix) or not parts.netloc:
        return (url,)
    rest = url[len(prefix) + len(parts.netloc) :]
    if port is None:
        return (url, f"{prefix}{parts.netloc}:{default}{rest}")
    if port == default:
        return (url, prefix + PORT_SUFFIX.sub("", parts.netloc) + rest)
    return (url,)


def verify(
    auth_token: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    shared_key: str = "",
) -> Form:
    """The request's form parameters, or `Rejected` unless Twilio signed exactly this request.

    `url` is `request_url(public_url, raw path + query)`. Requests carrying the signature
    settings header are signed with a webhook shared key, which must be configured.
    """
    lower = {name.lower(): value for name, value in headers.items()}
    digest, key = _algorithm(lower.get(SETTINGS_HEADER.lower(), ""), auth_token, shared_key)
    signature = _signature(lower.get(SIGNATURE_HEADER.lower()))
    query = urlsplit(url).query
    # Parsing an empty or hash-free query costs as much as the rest of the check.
    body_hash = parse_qs(query).get("bodySHA256") if "bodySHA256" in query else None
    if body_hash:
        _check_body_hash(body_hash[0], body)
        form = Form()
    else:
        _require_form(lower.get("content-type", ""), body)
        form = parse_form(body)
    params, secret = params_string(form), key.encode()
    # Each comparison is constant-time; which URL spelling matched is no secret.
    if not any(
        hmac.compare_digest(
            base64.b64encode(hmac.digest(secret, (candidate + params).encode(), digest)), signature
        )
        for candidate in url_variants(url)
    ):
        raise Rejected("bad_signature", "X-Twilio-Signature does not match this request.")
    return form


def _algorithm(settings: str, auth_token: str, shared_key: str) -> tuple[str, str]:
    """Digest and key: SHA-1 with the auth token unless the settings header names a shared key."""
    if not settings:
        if not auth_token:
            raise Rejected("webhook_disabled", "Twilio has no auth token configured.")
        return HASHES["HMAC_SHA1"], auth_token
    algorithm = "HMAC_SHA1"  # as get_signature_algorithm: a header without one means SHA-1
    for part in settings.split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "algorithm" and value.strip():
            algorithm = value.strip()
    digest = HASHES.get(algorithm.upper())
    if digest is None or not shared_key:
        raise Rejected("bad_signature", "This Twilio signature algorithm or key is not enabled.")
    return digest, shared_key


def _signature(header: str | None) -> bytes:
    if not header:
        raise Rejected("missing_signature", "X-Twilio-Signature is missing.")
    if len(header) > MAX_SIGNATURE or not header.isascii():
        raise Rejected("bad_signature", "X-Twilio-Signature is malformed.")
    return header.encode("ascii")


def _check_body_hash(given: str, body: bytes) -> None:
    if not given.isascii() or not hmac.compare_digest(
        hashlib.sha256(body).hexdigest().encode(), given.encode()
    ):
        raise Rejected("bad_signature", "bodySHA256 does not match the body.")


def _require_form(content_type: str, body: bytes) -> None:
    media = content_type.split(";", 1)[0].strip().lower()
    if body and media != FORM_TYPE:
        raise Rejected("unsupported_media_type", f"Content-Type must be {FORM_TYPE}.")
