"""A received mail as the intake sees it: `ParsedMail` + envelope → `InboundMessage`.

Threading: the case a mail refers to (a gateway Message-ID it answers, else the subject's tag)
becomes the hint; the intake step checks that the sender may write to that case. Auto-replies
and bounces never open a case: without a referenced case they are dropped (None).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from channels.email.mime import ParsedMail
from channels.email.threading import SubjectTag, referenced_case
from channels.message import Attachment, InboundMessage

SCOPE = "email"


@dataclass(frozen=True)
class MailContext:
    tag: SubjectTag
    own_domains: tuple[str, ...]  # Message-IDs the gateway made carry one of these


def to_message(
    mail: ParsedMail, raw: bytes, recipients: Sequence[str], context: MailContext
) -> InboundMessage | None:
    hint = referenced_case(
        context.tag, mail.subject, mail.in_reply_to, mail.references, context.own_domains
    )
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
    )
