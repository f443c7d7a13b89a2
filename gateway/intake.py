"""The intake service: one `InboundMessage` in, stored and routed in one atomic Redis step.

Dedupe, contact find-or-create, threading, the case, its timeline entry and the routing
decision all happen inside the INTAKE script, so a retry never stores anything twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from channels import fastjson
from channels.blobs import BlobStore
from channels.message import Attachment, InboundMessage, MailThread
from gateway.config import Config
from routing.keys import DEDUPE_TTL
from routing.rules import Decision, decide
from routing.scripts import Scripts

log = logging.getLogger(__name__)

ACKS_PER_SENDER_HOUR = 3  # loop guard: another gateway's acknowledgements never ping-pong long


@dataclass(frozen=True)
class IntakeResult:
    """`status` "dropped" (case id 0): a machine's mail that named no case it may join.
    `ack`: this delivery opened a case whose sender is to get an acknowledgement."""

    case_id: int
    contact_id: str
    assignee: str | None
    status: str
    ack: bool = False


def _entry(msg: InboundMessage) -> dict[str, Any]:
    entry: dict[str, Any] = {"k": "message", "d": "in", "f": msg.sender}
    if msg.threading not in ("sms", "new"):
        entry["c"] = msg.channel  # may continue a case of another channel; else it is implied
    optional = {"t": msg.to, "x": msg.text, "h": msg.html, "s": msg.subject, "fm": msg.form}
    entry.update({key: value for key, value in optional.items() if value})
    if msg.fields:
        entry["fd"] = msg.fields
    if msg.received_at is not None:
        entry["rcv"] = int(msg.received_at * 1000)
    if msg.mail:
        entry.update(_mail_fields(msg.mail))
    return entry


def _mail_fields(mail: MailThread) -> dict[str, Any]:
    fields: dict[str, Any] = {"mid": mail.message_id, "rf": list(mail.references)}
    if mail.auto:
        fields["auto"] = True
    return {key: value for key, value in fields.items() if value}


def _store_blobs(blobs: BlobStore, attachments: Sequence[Attachment]) -> list[str]:
    return [blobs.put(attachment.data) for attachment in attachments]


def _mail_payload(mail: MailThread | None) -> dict[str, Any]:
    if mail is None:
        return {}
    return {
        "parts": list(mail.participants),
        "auto": mail.auto,
        "ref": mail.by_reference,
        "ack": mail.ack,
        "ackmax": ACKS_PER_SENDER_HOUR,
    }


class Intake:
    def __init__(self, scripts: Scripts, blobs: BlobStore):
        self._scripts = scripts
        self.blobs = blobs

    async def submit(
        self, config: Config, msg: InboundMessage, decision: Decision | None = None
    ) -> IntakeResult:
        """Store `msg` once; `decision` overrides the rules (manual cases)."""
        decision = decision or decide(config.routing, msg)
        # durable before Redis names them; a retry rewrites nothing (content-addressed)
        digests = await asyncio.to_thread(_store_blobs, self.blobs, msg.attachments)
        payload = self._payload(config, msg, decision, digests)
        now_ms = int(time.time() * 1000)
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
        return IntakeResult(
            result["case_id"],
            result["contact_id"],
            result["assignee"],
            result["status"],
            bool(result.get("ack")),
        )

    @staticmethod
    def _payload(
        config: Config, msg: InboundMessage, decision: Decision, digests: list[str]
    ) -> str:
        sla = config.routing.sla.get(decision.priority)
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
                "rd": int(sla.reaction * 1000) if sla else -1,
                "sd": int(sla.resolution * 1000) if sla else -1,
                "reopen": int(config.reopen_within * 1000),
                **_mail_payload(msg.mail),
                "atts": [
                    {"n": a.name, "ty": a.type, "sz": len(a.data), "sha": digest}
                    for a, digest in zip(msg.attachments, digests, strict=True)
                ],
            }
        )
