"""Header values as text: RFC 2047 encoded words in any charset, and raw 8-bit bytes."""

from __future__ import annotations

import base64
import binascii
import re
from email.message import Message

from channels.email.charsets import decode_bytes

_FOLD = re.compile(r"\r?\n[ \t]")
_SPACES = re.compile(r"\s+")
# Encoded text may hold folding whitespace: some mailers fold inside an encoded word.
_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*?)\?=")
_BETWEEN_WORDS = re.compile(r"\s*")


def decode_header_text(raw: str, fallback_charset: str | None = None) -> str:
    """Decode a raw header value to text; never raises.

    Adjacent encoded words in one charset are joined as bytes before decoding, since mailers
    split multi-byte characters across words. Raw 8-bit bytes arrive from the parser as
    surrogate escapes and are decoded like a body without a trustworthy label.
    """
    value = _FOLD.sub(" ", raw)
    pieces: list[str] = []
    pending: list[tuple[str, bytes]] = []
    pos = 0
    for match in _WORD.finditer(value):
        gap = value[pos : match.start()]
        if not (pending and _BETWEEN_WORDS.fullmatch(gap)):
            pieces.append(_flush(pending))
            pieces.append(_plain(gap, fallback_charset))
        charset = match.group(1).split("*", 1)[0]
        data = _word_bytes(match.group(2), match.group(3))
        if pending and pending[-1][0] == charset.lower():
            pending[-1] = (pending[-1][0], pending[-1][1] + data)
        else:
            pending.append((charset.lower(), data))
        pos = match.end()
    pieces.append(_flush(pending))
    pieces.append(_plain(value[pos:], fallback_charset))
    return _SPACES.sub(" ", "".join(pieces)).strip()


def _flush(pending: list[tuple[str, bytes]]) -> str:
    text = "".join(decode_bytes(data, charset).text for charset, data in pending)
    pending.clear()
    return text


def _plain(text: str, fallback: str | None) -> str:
    if text.isascii():
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"), fallback).text


def _word_bytes(encoding: str, payload: str) -> bytes:
    data = payload.encode("ascii", "surrogateescape")
    try:
        if encoding in "bB":
            data = b"".join(data.split())
            return base64.b64decode(data + b"=" * (-len(data) % 4))
        return binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return data


def raw_header(msg: Message, name: str) -> str | None:
    """The header exactly as received (surrogate-escaped 8-bit), without the policy's parsing."""
    lowered = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == lowered:
            return str(value)
    return None


def header_text(msg: Message, name: str, fallback_charset: str | None = None) -> str:
    raw = raw_header(msg, name)
    return "" if raw is None else decode_header_text(raw, fallback_charset)
