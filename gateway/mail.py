"""Mail into the intake, for every way mail arrives (the SMTP edge, the IMAP pollers).

Parsing blocks (the stdlib parser, ~ms per mail), so it runs in a thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from channels.email.adapter import MailContext, to_message
from channels.email.mime import ParsedMail, parse_mail
from channels.email.threading import SubjectTag
from channels.message import InboundMessage
from gateway.config import Config
from gateway.intake import Intake, IntakeResult
from routing.rules import Decision, decide


def context_of(config: Config) -> MailContext:
    settings = config.channels.email
    domains = settings.domains if settings else ()
    return MailContext(SubjectTag(config.subject_tag), tuple(domains))


def route_recipients(
    config: Config, message: InboundMessage, recipients: Sequence[str]
) -> tuple[InboundMessage, Decision]:
    """One message for all recipients: the first rule that matches any of them decides (`to`)."""
    best = (message, decide(config.routing, message))
    for recipient in recipients:
        candidate = dataclasses.replace(message, to=recipient.lower())
        decision = decide(config.routing, candidate)
        rule, best_rule = decision.rule, best[1].rule
        if rule is not None and (best_rule is None or rule < best_rule):
            best = (candidate, decision)
    return best


def wants_ack(config: Config, mail: ParsedMail, decision: Decision) -> bool:
    """The service acknowledges new cases, and the mail is a person's, not the gateway's own."""
    service = config.routing.services.get(decision.service)
    if service is None or not service.ack or mail.kind != "human" or mail.no_reply:
        return False
    domain = mail.sender.address.rpartition("@")[2].lower()
    return domain not in context_of(config).own_domains


async def deliver_mail(
    intake: Intake, config: Config, raw: bytes, mail_from: str, recipients: Sequence[str]
) -> IntakeResult | None:
    """Store one received mail (at most once per Message-ID); None when it is dropped."""
    mail = await asyncio.to_thread(parse_mail, raw, mail_from)
    message = to_message(mail, raw, recipients, context_of(config))
    if message is None:
        return None
    message, decision = route_recipients(config, message, recipients)
    if message.mail and wants_ack(config, mail, decision):
        message = dataclasses.replace(message, mail=dataclasses.replace(message.mail, ack=True))
    result = await intake.submit(config, message, decision)
    return None if result.status == "dropped" else result
