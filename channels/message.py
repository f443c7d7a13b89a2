"""The one normalized shape every channel produces: `InboundMessage`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CHANNELS = ("phone", "chat", "email", "sms", "webform")
Threading = Literal["sms", "new", "service", "case"]


@dataclass(frozen=True)
class Attachment:
    name: str
    type: str
    data: bytes


@dataclass(frozen=True)
class MailThread:
    """What a received e-mail adds to its message.

    `message_id`/`references` go on its timeline entry (a reply sets In-Reply-To/References
    from them); `participants` (To/Cc besides the gateway's own addresses) may write to the
    case too; `auto` (an auto-reply or bounce) may only join the case it names, when its
    sender may write there or `by_reference` (it answers a gateway Message-ID). `ack`: the
    sender gets an acknowledgement if this opens a case (and the hourly loop guard allows).
    """

    message_id: str = ""
    references: tuple[str, ...] = ()
    participants: tuple[str, ...] = ()
    auto: bool = False
    by_reference: bool = False
    flags: tuple[str, ...] = ()  # case flags the mail brings: `unparsed` when kept only raw
    ack: bool = False


@dataclass(frozen=True)
class InboundMessage:
    """A customer contact as the intake sees it, whatever the provider.

    `delivery_id` is the provider's id for this delivery (scoped by `dedupe_scope`); a second
    delivery with the same pair changes nothing. `threading` says how to find the case:
    `sms` newest unresolved case of the same channel, `new` always a new case, `service` newest
    unresolved case of the contact in the routed service, `case` the case `case_hint`.
    """

    channel: str
    dedupe_scope: str
    delivery_id: str | None
    sender_phone: str = ""
    sender_email: str = ""
    sender_name: str = ""
    to: str = ""
    text: str = ""
    subject: str = ""
    html: str = ""
    form: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    received_at: float | None = None
    threading: Threading = "new"
    case_hint: int | None = None
    service_hint: str = ""
    mail: MailThread | None = None
    media: tuple[tuple[str, str], ...] = ()  # (URL, type) a worker job fetches (Twilio MMS)

    @property
    def sender(self) -> str:
        return self.sender_phone or self.sender_email
