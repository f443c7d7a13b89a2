"""The intake service: one `InboundMessage` in, stored and routed in one atomic Redis step.

Dedupe, contact find-or-create, threading, the case, its timeline entry and the routing
decision all happen inside the INTAKE script, so a retry never stores anything twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from channels import fastjson
from channels.blobs import BlobStore
from channels.message import Attachment, InboundMessage, MailThread
from gateway.config import Config
from gateway.runtime.clock import Clock
from gateway.workflow import catalogue
from routing import timeline
from routing.deadlines import intake_dues
from routing.keys import DEDUPE_TTL
from routing.rules import Decision, decide
from routing.scripts import Scripts

log = logging.getLogger(__name__)

ACKS_PER_SENDER_HOUR = 3  # loop guard: another gateway's acknowledgements never ping-pong long
LIVE = ("phone", "chat")  # a caller on the line, a visitor typing: routed, never held back


@dataclass(frozen=True)
class IntakeResult:
    """`status` "dropped" (case id 0): a machine's mail that named no case it may join.
    `ack`: this delivery opened a case whose sender is to get an acknowledgement."""

    case_id: int
    contact_id: str
    assignee: str | None
    status: str
    ack: bool = False


@dataclass(frozen=True)
class ManualCase:
    """A case opened through POST /api/cases: the operator who made it ("" for the admin), and
    the seconds within which an open case of the contact in that service makes it a
    `duplicate_case` (0: never); its classification and custom fields, checked by
    gateway/workflow.py `initial` (the combination is checked by the step that stores it)."""

    created_by: str
    merge_within: float = 0.0
    classification: dict[str, Any] = field(default_factory=dict)


def _entry(msg: InboundMessage) -> dict[str, Any]:
    """The stored entry; the Lua step adds its id and time (and attachments)."""
    # may continue a case of another channel; else the channel is implied
    channel = msg.channel if msg.threading not in ("sms", "new") else None
    return timeline.stored(
        kind="message",
        direction="in",
        from_=msg.sender,
        channel=channel,
        to=msg.to or None,
        text=msg.text or None,
        html=msg.html or None,
        subject=msg.subject or None,
        form=msg.form or None,
        fields=msg.fields or None,
        received_at=None if msg.received_at is None else int(msg.received_at * 1000),
        **(_mail_fields(msg.mail) if msg.mail else {}),
    )


def _mail_fields(mail: MailThread) -> dict[str, Any]:
    """Named as in the API; `timeline.stored` stores them under the codec's keys."""
    fields: dict[str, Any] = {
        "message_id": mail.message_id,
        "references": list(mail.references),
        "auto": mail.auto,
    }
    return {name: value for name, value in fields.items() if value}


def _store_blobs(blobs: BlobStore, attachments: Sequence[Attachment]) -> list[str]:
    return [blobs.put(attachment.data) for attachment in attachments]


def _manual_payload(config: Config, manual: ManualCase | None) -> dict[str, Any]:
    if manual is None:
        return {}
    found: dict[str, Any] = {"merge": int(manual.merge_within * 1000)}
    if manual.created_by:  # the admin's cases show their channel
        found["cb"] = manual.created_by
    if manual.classification:
        found["wf"] = manual.classification
        found["cat"] = catalogue(config.routing)
    return found


def _return_payload(
    config: Config, msg: InboundMessage, decision: Decision, manual: ManualCase | None
) -> dict[str, Any]:
    """`rt`: who a new case lacking its service's required fields goes back to when no operator
    made it (a manual case's goes to its operator): the rule's `return_to`, else the service's."""
    if manual is None and msg.channel in LIVE:
        return {}
    rule = config.routing.rules[decision.rule].return_to if decision.rule is not None else None
    service = config.routing.services.get(decision.service)
    found = rule or (service.workflow.return_to if service else None)
    return {"rt": found} if found else {}


def _mail_payload(mail: MailThread | None) -> dict[str, Any]:
    if mail is None:
        return {}
    return {
        "parts": list(mail.participants),
        "auto": mail.auto,
        "ref": mail.by_reference,
        "flags": list(mail.flags),
        "ack": mail.ack,
        "ackmax": ACKS_PER_SENDER_HOUR,
    }


class Intake:
    def __init__(
        self,
        scripts: Scripts,
        blobs: BlobStore,
        clock: Clock | None = None,
        observe: Callable[[str, float], None] | None = None,
    ):
        """`observe(channel, seconds)` is told how long each stored message took."""
        self._scripts = scripts
        self.blobs = blobs
        self._clock = clock or Clock()
        self._observe = observe

    async def submit(
        self,
        config: Config,
        msg: InboundMessage,
        decision: Decision | None = None,
        manual: ManualCase | None = None,
    ) -> IntakeResult:
        """Store `msg` once; `decision` overrides the rules (manual cases). A `manual` case that
        duplicates an open one raises RoutingRefused `duplicate_case` (details: `case_id`)."""
        started = time.perf_counter()
        decision = decision or decide(config.routing, msg)
        now_ms = self._clock.now_ms()
        # durable before Redis names them; a retry rewrites nothing (content-addressed)
        digests = (
            await asyncio.to_thread(_store_blobs, self.blobs, msg.attachments)
            if msg.attachments
            else []
        )  # a thread hand-off costs more than most messages' whole parse
        payload = self._payload(config, msg, decision, now_ms, digests, manual)
        entry = fastjson.dumps(_entry(msg))
        result = await self._scripts.intake(now_ms, payload, entry)
        log.debug(
            "stored %s message %s:%s from %s as case %s (%s, %s)",
            msg.channel,
            msg.dedupe_scope,
            msg.delivery_id,
            msg.sender,
            result["case_id"],
            decision.service,
            result["status"],
        )
        if self._observe is not None:
            self._observe(msg.channel, time.perf_counter() - started)
        return IntakeResult(
            result["case_id"],
            result["contact_id"],
            result["assignee"],
            result["status"],
            bool(result.get("ack")),
        )

    @staticmethod
    def _payload(
        config: Config,
        msg: InboundMessage,
        decision: Decision,
        now_ms: int,
        digests: Sequence[str] = (),
        manual: ManualCase | None = None,
    ) -> str:
        dues = intake_dues(config.routing, decision.priority, decision.service, now_ms)
        service = config.routing.services.get(decision.service)
        if service and service.workflow.triage:
            dues = {}  # a triage service's cases get their clocks when classified
        return fastjson.dumps(
            {
                "did": msg.delivery_id or "",
                "scope": msg.dedupe_scope,
                "ttl": DEDUPE_TTL,
                "ch": msg.channel,
                "phone": msg.sender_phone,
                "email": msg.sender_email.lower(),
                "name": msg.sender_name,
                "thr": msg.threading,
                "hint": msg.case_hint or 0,
                "svc": decision.service,
                "ty": decision.type,
                "pr": decision.priority,
                "subject": msg.subject,
                "due": dues,
                "reopen": int(config.reopen_within * 1000),
                **_mail_payload(msg.mail),
                "media": [list(ref) for ref in msg.media],
                **_manual_payload(config, manual),
                **_return_payload(config, msg, decision, manual),
                "atts": [
                    {"n": a.name, "ty": a.type, "sz": len(a.data), "sha": digest}
                    for a, digest in zip(msg.attachments, digests, strict=True)
                ],
            }
        )

    async def submit_chat(
        self, config: Config, msg: InboundMessage, session: str, per_minute: int
    ) -> tuple[IntakeResult, int]:
        """A visitor's chat message (never with attachments: no thread hop for blobs), counted
        against `per_minute` of chat `session` in the same step: the result and the message's
        timeline position. Over the limit nothing is stored (RoutingRefused `rate_limited`)."""
        started = time.perf_counter()
        now_ms = self._clock.now_ms()
        payload = self._payload(config, msg, decide(config.routing, msg), now_ms)
        entry = fastjson.dumps(_entry(msg))
        found = await self._scripts.chat_message(now_ms, payload, entry, session, per_minute)
        if self._observe is not None:
            self._observe(msg.channel, time.perf_counter() - started)
        result = IntakeResult(
            found["case_id"], found["contact_id"], found["assignee"], found["status"]
        )
        return result, int(found["position"])
