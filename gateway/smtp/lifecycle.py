"""The SMTP server's life inside an acceptor: opened after the Redis client, closed before it.

Only the acceptor adds `smtp_ctx` (tests build apps without it), and only when
`[channels.email]` is present. Every acceptor listens on `[gateway].smtp` (SO_REUSEPORT).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from aiohttp import web

from gateway.http.app_keys import RUNTIME
from gateway.mail import deliver_mail
from gateway.runtime.state import Runtime
from gateway.smtp.server import IntakeHandler, start_smtp

CLOSE_TIMEOUT = 5.0  # seconds a session in progress gets to finish on shutdown
# aiosmtpd logs each command at INFO; like the HTTP access log, that is too costly per mail
logging.getLogger("mail.log").setLevel(logging.WARNING)


def handler_for(runtime: Runtime) -> IntakeHandler | None:
    settings = runtime.config.channels.email
    if settings is None:
        return None

    async def deliver(raw: bytes, mail_from: str, recipients: Sequence[str]) -> None:
        await deliver_mail(runtime.intake, runtime.config, raw, mail_from, recipients)

    return IntakeHandler(frozenset(settings.domains), settings.max_message_bytes, deliver)


async def smtp_ctx(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    handler = handler_for(runtime)
    if handler is None:
        yield
        return
    settings = runtime.config.channels.email
    hostname = settings.domains[0] if settings and settings.domains else "localhost"
    server = await start_smtp(runtime.config.smtp, handler, hostname)
    yield
    await stop_smtp(server)


async def stop_smtp(server: asyncio.Server) -> None:
    """Stop listening; sessions still open get `CLOSE_TIMEOUT`, then their sockets close."""
    server.close()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(server.wait_closed(), CLOSE_TIMEOUT)
