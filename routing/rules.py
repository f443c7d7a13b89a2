"""Rules: a message's channel, addresses, subject, text and form fields -> service, type, priority.

First match wins; an unmatched message goes to `[routing].default_service` with the default type.
"""

from __future__ import annotations

from dataclasses import dataclass

from channels.message import InboundMessage
from routing.settings import RoutingSettings, Rule


@dataclass(frozen=True)
class Decision:
    service: str
    type: str
    priority: int
    rule: int | None  # index into [[rules]], None for the defaults


def _matches(rule: Rule, msg: InboundMessage) -> bool:
    """Cheapest checks first, and stop at the first miss: this runs for every message."""
    if rule.channel is not None and rule.channel != msg.channel:
        return False
    if rule.to is not None and rule.to != msg.to:
        return False
    if rule.form is not None and rule.form != msg.form:
        return False
    if rule.from_ is not None and rule.from_ not in (msg.sender_phone, msg.sender_email):
        return False
    if any(msg.fields.get(name) != value for name, value in rule.fields.items()):
        return False
    if rule.subject is not None and rule.subject.search(msg.subject) is None:
        return False
    return rule.text is None or rule.text.search(msg.text) is not None


def decide(settings: RoutingSettings, msg: InboundMessage) -> Decision:
    """The rule that matches `msg` first, filled in with the defaults."""
    service = msg.service_hint or settings.default_service
    type_ = settings.default_type
    for rule in settings.rules:
        if _matches(rule, msg):
            type_ = rule.type or type_
            priority = rule.priority or settings.types[type_]
            return Decision(rule.service or service, type_, priority, rule.index)
    return Decision(service, type_, settings.types[type_], None)
