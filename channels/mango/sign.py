"""Mango Office callbacks are signed: `sign` = hex SHA-256 of `vpbx_api_key + json + salt`."""

from __future__ import annotations

import hashlib
import hmac

from channels.rejection import Rejected
from channels.urlencoded import Form

MAX_JSON = 65536  # a call event is a few hundred bytes; a summary under two kilobytes


def sign(api_key: str, json_text: str, api_salt: str) -> str:
    return hashlib.sha256((api_key + json_text + api_salt).encode()).hexdigest()


def verify(form: Form, api_key: str, api_salt: str) -> str:
    """The signed `json` text of a Mango callback, or `Rejected` (fail closed)."""
    if not api_key or not api_salt:
        raise Rejected("webhook_disabled", "Mango Office has no API key and salt configured.")
    given_key = form.get("vpbx_api_key") or ""
    given_sign = form.get("sign") or ""
    if not given_key or not given_sign:
        raise Rejected("missing_signature", "vpbx_api_key and sign are required.")
    json_text = form.get("json") or ""
    if len(json_text) > MAX_JSON:
        raise Rejected("malformed_request", f"'json' is longer than {MAX_JSON} characters.")
    if not given_key.isascii() or not given_sign.isascii():
        raise Rejected("bad_signature", "vpbx_api_key or sign is malformed.")
    key_ok = hmac.compare_digest(given_key.encode(), api_key.encode())
    expected = sign(api_key, json_text, api_salt).encode()
    if not (hmac.compare_digest(given_sign.lower().encode(), expected) and key_ok):
        raise Rejected("bad_signature", "sign does not match this callback.")
    return json_text
