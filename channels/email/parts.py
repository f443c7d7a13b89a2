"""Leaf parts of a mail as attachments: bytes, a safe file name, inline flag and Content-ID."""

from __future__ import annotations

import email.policy
import mimetypes
import re
from dataclasses import dataclass
from email.message import Message

from channels.email.headers import decode_header_text, header_text, raw_header

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
_MAX_NAME = 200
_RAW_NAME = re.compile(r'\b(?:file)?name\s*=\s*(?:"([^"]*)"|([^;\s]+))', re.IGNORECASE)
_EXTENSIONS = {"message/rfc822": ".eml", "text/plain": ".txt", "text/html": ".html"}


@dataclass(frozen=True)
class MailAttachment:
    name: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str = ""  # without angle brackets; HTML refers to it as cid:<content_id>

    @property
    def size(self) -> int:
        return len(self.data)


def attachment_of(part: Message, index: int, name: str) -> MailAttachment:
    content_type = part.get_content_type()
    content_id = header_text(part, "Content-ID").strip().strip("<>").strip()
    disposition = part.get_content_disposition()
    return MailAttachment(
        name=name or _generated_name(content_type, index),
        content_type=content_type,
        data=payload_bytes(part),
        inline=disposition == "inline" or (disposition is None and bool(content_id)),
        content_id=content_id,
    )


def part_filename(part: Message, fallback_charset: str | None = None) -> str:
    """The part's file name (RFC 2231 or RFC 2047 style, or raw 8-bit), reduced to a base name."""
    name = part.get_filename() or part.get_param("name", header="content-type")
    if not name:
        return ""
    value = str(name[2]) if isinstance(name, tuple) else str(name)
    if "\ufffd" in value:  # the policy replaced raw 8-bit bytes; read them from the header
        value = _raw_name(part) or value
    return safe_name(decode_header_text(value, fallback_charset))


def safe_name(text: str) -> str:
    """A file name without directories or control characters, of bounded length."""
    base = text.replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE.sub("", base).strip(" .")[:_MAX_NAME]


def payload_bytes(part: Message) -> bytes:
    """The decoded body of a leaf part, or the serialized part for message/* and multiparts."""
    if part.is_multipart():
        return serialize(part)
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def serialize(msg: Message) -> bytes:
    """A parsed (sub)message back as bytes, with the most lenient generator that manages."""
    for policy in (email.policy.default, email.policy.compat32):
        try:
            return msg.as_bytes(policy=policy)
        except Exception:  # generators choke on some hostile headers; try the next one
            continue
    return b""


def forward_block(msg: Message) -> str:
    """The header summary that introduces a forwarded mail's text."""
    lines = ["---------- Forwarded message ----------"]
    for name in ("From", "Date", "Subject", "To"):
        value = header_text(msg, name)
        if value:
            lines.append(f"{name}: {value}")
    return "\n".join(lines)


def _raw_name(part: Message) -> str:
    for header in ("Content-Disposition", "Content-Type"):
        match = _RAW_NAME.search(raw_header(part, header) or "")
        if match:
            return match.group(1) if match.group(1) is not None else match.group(2)
    return ""


def _generated_name(content_type: str, index: int) -> str:
    extension = _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"
    return f"part-{index}{extension}"
