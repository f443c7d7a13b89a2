"""A received mail, from raw bytes to the fields the intake stores; never raises, loses nothing.

Text parts are decoded with the declared charset or a fallback (the raw part is kept as an
attachment when the text is a guess); HTML is sanitized; forwarded mails contribute their text
and attachments and are kept whole as `.eml`; a mail the parser cannot walk within the bounds
is kept whole too, flagged.
"""

from __future__ import annotations

import email
import email.parser
import email.utils
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from html import escape

from channels.email.charsets import decode_bytes
from channels.email.headers import decode_header_text, header_text, raw_header
from channels.email.htmlbody import html_to_text, sanitize_html
from channels.email.loops import Kind, classify
from channels.email.parts import (
    MailAttachment,
    attachment_of,
    forward_block,
    part_filename,
    safe_name,
    serialize,
)
from channels.email.policy import POLICY
from channels.email.threading import message_ids

MAX_DEPTH = 16
MAX_PARTS = 500
MAX_CONTAINERS_PER_LEVEL = 8
_RAW_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*<([^<>\s]{1,500})>", re.IGNORECASE | re.MULTILINE)
_BODY_TYPES = ("text/plain", "text/html")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_BOUNDARY = re.compile(rb'boundary\s*=\s*"?([^"\s;]{1,200})', re.IGNORECASE)
_MULTIPART = re.compile(rb"content-type:\s*multipart/", re.IGNORECASE)


@dataclass(frozen=True)
class MailAddress:
    address: str
    name: str = ""


@dataclass(frozen=True)
class ParsedMail:
    """A mail as the e-mail channel sees it. Message ids are without angle brackets.

    `flags`: `unparsed` (kept only as the raw `.eml` attachment), `charset_guessed` (a text
    part's charset was a guess; its raw bytes are an attachment), `truncated` (past the depth
    or part bounds; the whole mail is an attachment).
    """

    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender: MailAddress
    to: tuple[MailAddress, ...]
    cc: tuple[MailAddress, ...]
    reply_to: tuple[MailAddress, ...]
    date: datetime | None
    text: str
    html: str
    attachments: tuple[MailAttachment, ...]
    kind: Kind
    kind_reason: str
    no_reply: bool
    flags: tuple[str, ...]
    size: int


def parse_mail(raw: bytes, envelope_from: str | None = None) -> ParsedMail:
    """Parse a received mail; `envelope_from` is the SMTP `MAIL FROM` ('' for `<>`) if known."""
    try:
        if _too_complex(raw):
            headers = email.parser.BytesHeaderParser(policy=POLICY).parsebytes(raw)
            return _parse(headers, raw, envelope_from, walk=False)
        msg = email.message_from_bytes(raw, policy=POLICY)
        return _parse(msg, raw, envelope_from, walk=True)
    except Exception:  # hostile mail makes the stdlib raise many types; keep the bytes instead
        return unparsed_mail(raw)


def _too_complex(raw: bytes) -> bool:
    """Whether the stdlib parser would spend seconds on it: its cost grows with the parts."""
    if len(_MULTIPART.findall(raw)) > MAX_DEPTH * MAX_CONTAINERS_PER_LEVEL:
        return True
    if raw.count(b"\n--") <= MAX_PARTS:
        return False
    boundaries = set(_BOUNDARY.findall(raw))
    return sum(raw.count(b"\n--" + b) for b in boundaries) > MAX_PARTS


def unparsed_mail(raw: bytes) -> ParsedMail:
    """A mail kept only as its raw bytes, flagged `unparsed`."""
    match = _RAW_MESSAGE_ID.search(_HEADER_END.split(raw, maxsplit=1)[0])
    message_id = match.group(1).decode("ascii", "replace") if match else ""
    eml = MailAttachment("message.eml", "message/rfc822", raw)
    return ParsedMail(
        message_id, (), (), "", MailAddress(""), (), (), (), None, "", "", (eml,),
        "human", "", False, ("unparsed",), len(raw),
    )  # fmt: skip


def _parse(msg: Message, raw: bytes, envelope_from: str | None, walk: bool) -> ParsedMail:
    walker = _Walker()
    body = walker.walk(msg, 0) if walk else _Body()
    if not walk:
        walker.flags.add("truncated")
    if "truncated" in walker.flags:
        walker.attachments.append(MailAttachment("message.eml", "message/rfc822", raw))
    charset = walker.first_charset
    verdict = classify(msg, envelope_from)
    senders = _addresses(msg, "From", charset)
    return ParsedMail(
        message_id=next(iter(message_ids(header_text(msg, "Message-ID"))), ""),
        in_reply_to=message_ids(header_text(msg, "In-Reply-To")),
        references=message_ids(header_text(msg, "References")),
        subject=header_text(msg, "Subject", charset),
        sender=senders[0] if senders else MailAddress(""),
        to=_addresses(msg, "To", charset),
        cc=_addresses(msg, "Cc", charset),
        reply_to=_addresses(msg, "Reply-To", charset),
        date=_date(raw_header(msg, "Date")),
        text=body.plain(),
        html=sanitize_html("\n".join(body.html)).strip() if body.html else "",
        attachments=tuple(walker.attachments),
        kind=verdict.kind,
        kind_reason=verdict.reason,
        no_reply=verdict.no_reply,
        flags=tuple(sorted(walker.flags)),
        size=len(raw),
    )


@dataclass
class _Body:
    text: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)

    def plain(self) -> str:
        parts = [t for t in self.text if t.strip()] or [html_to_text(h) for h in self.html]
        return "\n\n".join(p.strip("\r\n") for p in parts if p.strip())


def _concat(bodies: list[_Body]) -> _Body:
    """Parts shown one after the other; each contributes text, derived from HTML if need be."""
    out = _Body(text=[b.plain() for b in bodies if b.plain()])
    if any(b.html for b in bodies):
        out.html = [h for b in bodies for h in (b.html or [_pre(t) for t in b.text])]
    return out


def _alternative(bodies: list[_Body]) -> _Body:
    """Variants of one content: the last (richest) variant of each kind wins."""
    texts = [b.text for b in bodies if any(t.strip() for t in b.text)]
    htmls = [b.html for b in bodies if b.html]
    return _Body(text=texts[-1] if texts else [], html=htmls[-1] if htmls else [])


def _pre(text: str) -> str:
    return f"<pre>{escape(text)}</pre>"


class _Walker:
    def __init__(self) -> None:
        self.attachments: list[MailAttachment] = []
        self.flags: set[str] = set()
        self.first_charset: str | None = None
        self._parts = 0

    def walk(self, part: Message, depth: int) -> _Body:
        self._parts += 1
        if self._parts > MAX_PARTS or depth > MAX_DEPTH:
            self.flags.add("truncated")
            return _Body()
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            return self._forward(part, depth)
        if content_type.startswith("message/") or not part.is_multipart():
            return self._leaf(part, content_type)
        self.first_charset = self.first_charset or _charset_param(part)
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        bodies = [self.walk(child, depth + 1) for child in children]
        if content_type == "multipart/alternative":
            return _alternative(bodies)
        return _concat(bodies)

    def _leaf(self, part: Message, content_type: str) -> _Body:
        name = part_filename(part, self.first_charset)
        attachment = attachment_of(part, len(self.attachments) + 1, name)
        is_file = part.get_content_disposition() == "attachment" or bool(name)
        if content_type not in _BODY_TYPES or is_file:
            self.attachments.append(attachment)
            return _Body()
        charset = part.get_content_charset()
        self.first_charset = self.first_charset or charset
        decoded = decode_bytes(attachment.data, charset)
        if not decoded.faithful:
            self.flags.add("charset_guessed")
            self.attachments.append(attachment)
        if content_type == "text/html":
            return _Body(html=[decoded.text])
        return _Body(text=[decoded.text])

    def _forward(self, part: Message, depth: int) -> _Body:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            return self._leaf(part, "application/octet-stream")
        name = (safe_name(header_text(inner, "Subject"))[:100] or "forwarded") + ".eml"
        self.attachments.append(MailAttachment(name, "message/rfc822", serialize(inner)))
        body = self.walk(inner, depth + 1)
        block = forward_block(inner)
        text = [block, body.plain()] if body.plain() else [block]
        html = [_pre(block), *body.html] if body.html else []
        return _Body(text=["\n\n".join(text)], html=html)


def _charset_param(part: Message) -> str | None:
    """A container's charset parameter: some mailers put it there for raw 8-bit file names."""
    value = part.get_param("charset")
    return value if isinstance(value, str) and value else None


def _addresses(msg: Message, name: str, charset: str | None) -> tuple[MailAddress, ...]:
    values = [str(v) for k, v in msg.raw_items() if k.lower() == name.lower()]
    found = []
    for display, address in email.utils.getaddresses(values):
        address = decode_header_text(address, charset)
        if address:
            found.append(MailAddress(address, decode_header_text(display, charset)))
    return tuple(found)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
