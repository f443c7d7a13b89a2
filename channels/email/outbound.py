"""Outgoing mail: a reply built so the customer's answer threads back, and its delivery through
the configured relay with the relay's answer sorted into retry-later and give-up."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from channels.email.threading import SubjectTag, make_message_id
from channels.email_settings import SmtpOut
from channels.outbound import Deferred, Delivery, Failed


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    security: str  # "none" | "starttls" | "tls"
    user: str = ""
    password: str = ""
    timeout: float = 30.0


@dataclass(frozen=True)
class Reply:
    sender: str  # From: address
    sender_name: str
    to: str
    cc: tuple[str, ...]
    subject: str  # as sent: `SubjectTag.reply_subject` puts the case tag in it exactly once
    text: str
    message_id: str  # "<...@...>", one the gateway recognizes on the answer
    in_reply_to: str = ""  # the last customer mail's Message-ID
    references: tuple[str, ...] = ()
    auto: bool = False  # acknowledgements: Auto-Submitted: auto-replied


def build(reply: Reply) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = formataddr((reply.sender_name, reply.sender))
    mail["To"] = reply.to
    if reply.cc:
        mail["Cc"] = ", ".join(reply.cc)
    mail["Subject"] = reply.subject
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = reply.message_id
    if reply.in_reply_to:
        mail["In-Reply-To"] = _bracketed(reply.in_reply_to)
    references = [*reply.references, reply.in_reply_to] if reply.in_reply_to else []
    if references:
        mail["References"] = " ".join(dict.fromkeys(_bracketed(ref) for ref in references if ref))
    if reply.auto:
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(reply.text)
    return mail


def deliver(out: SmtpOut, tag: SubjectTag, delivery: Delivery) -> str:
    """A reply on a case (an operator's, or an acknowledgement: `auto`), as a threaded mail
    through `out`; returns its Message-ID.

    The Message-ID names the case and entry (`parse_message_id` knows it on the answer).
    """
    domain = out.from_.rpartition("@")[2]
    reply = Reply(
        sender=out.from_,
        sender_name=out.name,
        to=delivery.to,
        cc=(),
        subject=tag.reply_subject(delivery.subject, delivery.case_id),
        text=delivery.text,
        message_id=make_message_id(delivery.case_id, delivery.entry_id, domain),
        in_reply_to=delivery.in_reply_to,
        references=delivery.references,
        auto=delivery.auto,
    )
    password = out.password.reveal() if out.password else ""
    relay = Relay(out.host, out.port, out.security, out.user, password)
    send(relay, build(reply), [delivery.to])
    return reply.message_id


def send(relay: Relay, mail: EmailMessage, recipients: Sequence[str]) -> None:
    """Hand `mail` to the relay; raises `Deferred` or `Failed`."""
    try:
        with _connect(relay) as client:
            refused = client.send_message(mail, to_addrs=list(recipients))
    except smtplib.SMTPRecipientsRefused as error:
        raise _classified(error.recipients) from None
    except smtplib.SMTPResponseException as error:
        text = f"{error.smtp_code} {_text(error.smtp_error)}"
        raise (Deferred if error.smtp_code < 500 else Failed)(text) from None
    except (smtplib.SMTPException, OSError) as error:
        raise Deferred(f"{type(error).__name__}: {error}") from None
    if refused:
        raise _classified(refused)


def _classified(refused: dict[str, tuple[int, bytes]]) -> Exception:
    text = "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in refused.items())
    permanent = all(code >= 500 for code, _ in refused.values())
    return Failed(text) if permanent else Deferred(text)


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _connect(relay: Relay) -> smtplib.SMTP:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if relay.security == "tls":
        client = smtplib.SMTP_SSL(relay.host, relay.port, timeout=relay.timeout, context=context)
    else:
        client = smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout)
    try:
        if relay.security == "starttls":
            client.starttls(context=context)
        if relay.user:
            client.login(relay.user, relay.password)
    except BaseException:
        client.close()
        raise
    return client


def _bracketed(message_id: str) -> str:
    """`<id>`: stored ids are bare (the parser strips the brackets), headers need them."""
    bare = message_id.strip().strip("<>")
    return f"<{bare}>"
