"""Rules: a message's channel, addresses, subject, text and form fields -> service, type, priority.

First match wins; an unmatched message goes to `[routing].default_service` with the default type.
"""

from __future__ import annotations

from dataclasses import dataclass

from channels.message import InboundMessage
from gateway.config import Config, Rule


@dataclass(frozen=True)
class Decision:
    service: str
    type: str
    priority: int
    rule: int | None  # index into [[rules]], None for the defaults


def _matches(rule: Rule, msg: InboundMessage) -> bool:
    checks = (
        rule.channel is None or rule.channel == msg.channel,
        rule.to is None or rule.to == msg.to,
        rule.from_ is None or rule.from_ in (msg.sender_phone, msg.sender_email),
        rule.subject is None or rule.subject.search(msg.subject) is not None,
        rule.text is None or rule.text.search(msg.text) is not None,
        rule.form is None or rule.form == msg.form,
    )
    if not all(checks):
        return False
    return all(msg.fields.get(name) == value for name, value in rule.fields.items())


def decide(config: Config, msg: InboundMessage) -> Decision:
    """The rule that matches `msg` first, filled in with the defaults."""
    service = msg.service_hint or config.default_service
    type_ = config.default_type
    for rule in config.rules:
        if _matches(rule, msg):
            type_ = rule.type or type_
            priority = rule.priority or config.types[type_]
            return Decision(rule.service or service, type_, priority, rule.index)
    return Decision(service, type_, config.types[type_], None)
