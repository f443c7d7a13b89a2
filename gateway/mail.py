"""Mail into the intake, for every way mail arrives (the SMTP edge, the IMAP pollers).

Parsing blocks (the stdlib parser, ~ms per mail), so it runs in a thread, never on the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from channels.email.adapter import MailContext, to_message
from channels.email.mime import parse_mail
from channels.email.threading import SubjectTag
from gateway.config import Config
from gateway.intake import Intake, IntakeResult


def context_of(config: Config) -> MailContext:
    settings = config.channels.email
    domains = settings.domains if settings else ()
    return MailContext(SubjectTag(config.subject_tag), tuple(domains))


async def deliver_mail(
    intake: Intake, config: Config, raw: bytes, mail_from: str, recipients: Sequence[str]
) -> IntakeResult | None:
    """Store one received mail (at most once per Message-ID); None when it is dropped."""
    mail = await asyncio.to_thread(parse_mail, raw, mail_from)
    message = to_message(mail, raw, recipients, context_of(config))
    if message is None:
        return None
    return await intake.submit(config, message)
