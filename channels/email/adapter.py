"""A received mail as the intake sees it: `ParsedMail` + envelope → `InboundMessage`.

Threading: the case a mail refers to (a gateway Message-ID it answers, else the subject's tag)
becomes the hint; the intake step checks that the sender may write to that case. Auto-replies
and bounces never open a case: without a referenced case they are dropped (None).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from channels.email.mime import MailAddress, ParsedMail
from channels.email.threading import SubjectTag, case_from_references
from channels.message import Attachment, InboundMessage, MailThread

SCOPE = "email"
MAX_PARTICIPANTS = 50  # per mail: a mail to a whole department adds no unbounded set
MAX_REFERENCES = 20  # the newest ones: enough for a reply's References header


@dataclass(frozen=True)
class MailContext:
    tag: SubjectTag
    own_domains: tuple[str, ...]  # Message-IDs the gateway made carry one of these


def to_message(
    mail: ParsedMail, raw: bytes, recipients: Sequence[str], context: MailContext
) -> InboundMessage | None:
    by_headers = case_from_references(mail.in_reply_to, mail.references, context.own_domains)
    hint = by_headers if by_headers is not None else context.tag.find(mail.subject)
    if mail.kind != "human" and hint is None:
        return None
    return InboundMessage(
        channel="email",
        dedupe_scope=SCOPE,
        # a mail without Message-ID is deduplicated by its bytes: a retry sends the same ones
        delivery_id=mail.message_id or "sha256:" + hashlib.sha256(raw).hexdigest(),
        sender_email=mail.sender.address,
        sender_name=mail.sender.name,
        to=(recipients[0] if recipients else "").lower(),
        text=mail.text,
        subject=mail.subject,
        html=mail.html,
        attachments=tuple(Attachment(a.name, a.content_type, a.data) for a in mail.attachments),
        received_at=mail.date.timestamp() if mail.date else None,
        threading="case" if hint is not None else "new",
        case_hint=hint,
        mail=MailThread(
            message_id=mail.message_id,
            references=mail.references[-MAX_REFERENCES:],
            participants=_participants(mail, context.own_domains),
            auto=mail.kind != "human",
            by_reference=by_headers is not None,
            # past the parser's bounds the whole mail is kept raw too: the same for the operator
            flags=("unparsed",) if {"unparsed", "truncated"} & set(mail.flags) else (),
        ),
    )


def _participants(mail: ParsedMail, own_domains: Sequence[str]) -> tuple[str, ...]:
    """To/Cc addresses other than the sender's and the gateway's own, lower-cased."""
    own = {domain.lower() for domain in own_domains}
    sender = mail.sender.address.lower()
    found: dict[str, None] = {}
    for address in (*mail.to, *mail.cc):
        lowered = _address(address)
        if lowered and lowered != sender and lowered.rpartition("@")[2] not in own:
            found[lowered] = None
    return tuple(found)[:MAX_PARTICIPANTS]


def _address(address: MailAddress) -> str:
    value = address.address.strip().lower()
    return value if "@" in value else ""
