"""aiosmtpd's protocol on the acceptor's loop: RCPT checked against the served domains, DATA
handed to a `deliver` callable, 250 only once it has returned (the message is stored)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session

from gateway.smtp import replies
from gateway.telemetry.context import REQUEST_ID, new_id
from gateway.telemetry.instruments import SMTP_REPLIES

log = logging.getLogger(__name__)

Deliver = Callable[[bytes, str, Sequence[str]], Awaitable[None]]
MAX_RECIPIENTS = 100


class GatewaySMTP(SMTP):
    """aiosmtpd with RFC 3463 enhanced codes on its own size refusals (SIZE and DATA); every
    reply is counted by its code."""

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and status.startswith("552 Error"):
            status = replies.TOO_BIG
        head = status[:3]
        code = head if isinstance(head, str) else head.decode("ascii", "replace")
        SMTP_REPLIES.labels(code).inc()
        await super().push(status)


@dataclass
class IntakeHandler:
    domains: frozenset[str]
    max_bytes: int
    deliver: Deliver

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        domain = address.rpartition("@")[2].strip().lower()
        if domain not in self.domains:
            return replies.UNKNOWN_RCPT
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return replies.TOO_MANY_RCPTS
        envelope.rcpt_tos.append(address)
        return replies.ACCEPTED_RCPT

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Each mail gets an id for its log lines (the connection's task keeps it until the
        next mail); one line per mail says what it got, never who wrote what."""
        REQUEST_ID.set(new_id())
        reply = await self._store(envelope)
        log.info("smtp mail: %d bytes for %d recipient(s): %s", len(envelope.original_content
                 or b""), len(envelope.rcpt_tos), reply[:3])  # fmt: skip
        return reply

    async def _store(self, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if len(raw) > self.max_bytes:
            return replies.TOO_BIG
        try:
            await self.deliver(raw, envelope.mail_from or "", tuple(envelope.rcpt_tos))
        except Exception as error:
            return replies.reply_for(error)
        return replies.STORED

    async def handle_exception(self, error: Exception) -> str:
        return replies.reply_for(error)


async def start_smtp(
    address: tuple[str, int], handler: IntakeHandler, hostname: str
) -> asyncio.Server:
    """Listen on `address`, sharing the port with the other acceptors (SO_REUSEPORT)."""
    loop = asyncio.get_running_loop()
    host, port = address

    def protocol() -> SMTP:
        return GatewaySMTP(
            handler,
            data_size_limit=handler.max_bytes,
            enable_SMTPUTF8=True,
            hostname=hostname,  # else aiosmtpd asks DNS for our FQDN on every connection
            loop=loop,
        )

    server = await loop.create_server(protocol, host, port, reuse_port=True)
    log.info("smtp listening on %s:%d", host, port)
    return server
