"""[channels.email]: accepted domains, the size limit, IMAP mailboxes and outgoing SMTP."""

from __future__ import annotations

from dataclasses import dataclass

from channels.settings import Secret, Table

DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ImapBox:
    host: str
    port: int
    tls: bool
    starttls: bool  # plain connect, then STARTTLS before LOGIN (port 143 servers)
    user: str
    password: Secret
    folder: str
    poll_interval: float
    processed_folder: str


SECURITY = ("none", "starttls", "tls")


@dataclass(frozen=True)
class SmtpOut:
    host: str
    port: int
    from_: str
    security: str  # one of SECURITY
    user: str  # empty: no AUTH
    password: Secret | None  # `password` or `password_env`; with `user` only
    name: str  # display name of From:


@dataclass(frozen=True)
class EmailSettings:
    domains: tuple[str, ...]
    max_message_bytes: int
    imap: tuple[ImapBox, ...]
    smtp_out: SmtpOut | None


def read(table: Table) -> EmailSettings | None:
    """None when the section is absent: the channel is off."""
    if not table.present:
        return None
    smtp_out = table.table("smtp_out")
    settings = EmailSettings(
        domains=tuple(domain.lower() for domain in table.strings("domains")),
        max_message_bytes=table.integer("max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES, minimum=1),
        imap=tuple(_imap(box) for box in table.tables("imap")),
        smtp_out=_smtp_out(smtp_out) if smtp_out.present else None,
    )
    table.close()
    return settings


def _imap(table: Table) -> ImapBox:
    tls = table.flag("tls", True)
    starttls = table.flag("starttls", False)
    if tls and starttls:
        table.problem("starttls", "needs tls = false (STARTTLS upgrades a plain connection)")
    box = ImapBox(
        host=table.text("host", required=True) or "",
        port=table.port("port", 993 if tls else 143),
        tls=tls,
        starttls=starttls,
        user=table.text("user", required=True) or "",
        password=table.secret("password"),
        folder=table.text("folder", "INBOX") or "INBOX",
        poll_interval=table.duration("poll_interval", "30s", positive=True),
        processed_folder=table.text("processed_folder", "") or "",
    )
    table.close()
    return box


def _smtp_out(table: Table) -> SmtpOut:
    sender = table.text("from", required=True) or ""
    if sender and "@" not in sender:
        table.problem("from", f"{sender!r} is not an e-mail address")
    security = table.choice("security", SECURITY) or "none"
    user = table.text("user", "") or ""
    out = SmtpOut(
        host=table.text("host", required=True) or "",
        port=table.port("port", 465 if security == "tls" else 25),
        from_=sender,
        security=security,
        user=user,
        password=table.secret("password", required=bool(user)) or None,
        name=table.text("name", "") or "",
    )
    table.close()
    return out
