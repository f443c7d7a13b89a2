"""Operator API: cases (read, list, create), contacts and attachments."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from aiohttp import web

from channels import validate
from channels.errors import BadRequest, Conflict, InvalidField, NotFound
from channels.message import InboundMessage
from channels.phones import normalize
from gateway import workflow
from gateway.http.api.refusals import refused
from gateway.http.auth import actor
from gateway.http.body import json_as
from gateway.http.schemas.cases import NewCase
from gateway.intake import ManualCase
from gateway.runtime.state import Actor, Runtime
from gateway.store import CaseFilter
from gateway.views import STATUSES
from routing.errors import RoutingRefused
from routing.rules import Decision, decide

MAX_PAGE = 200
SLA_FILTERS = ("breached", "at_risk")


def case_id_of(request: web.Request) -> int:
    found = validate.positive_id(request.match_info["case_id"])
    if found is None:
        raise NotFound("There is no such case.", code="case_not_found")
    return found


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, "")
    if raw == "":
        return default
    found = validate.positive_id(raw)
    if found is None or not low <= found <= high:
        raise InvalidField(f"'{name}' must be a whole number from {low} to {high}.", field=name)
    return found


def _cursor(request: web.Request) -> int | None:
    raw = request.query.get("cursor", "")
    if raw == "":
        return None
    found = validate.positive_id(raw)
    if found is None:
        raise BadRequest("The cursor is not one this server gave out.", code="bad_cursor")
    return found


def _folders(request: web.Request, who: Actor) -> dict[str, Any]:
    """The console's folders: `created_by`, `owner` (`me`: the caller) and `priority`."""
    me = who.operator or "admin"
    found: dict[str, Any] = {}
    for name in ("created_by", "owner"):
        raw = request.query.get(name) or None
        found[name] = me if raw == "me" else raw
    raw = request.query.get("priority", "")
    found["priority"] = validate.positive_id(raw) if raw else None
    if raw and found["priority"] is None:
        raise InvalidField("'priority' must be a positive whole number.", field="priority")
    return found


async def list_cases(request: web.Request) -> web.Response:
    runtime, who = actor(request)
    status = request.query.get("status") or None
    if status is not None and status not in STATUSES:
        raise InvalidField(f"'status' must be one of {', '.join(STATUSES)}.", field="status")
    sla = request.query.get("sla") or None
    if sla is not None and sla not in SLA_FILTERS:
        raise InvalidField("'sla' must be breached or at_risk.", field="sla")
    flt = CaseFilter(
        status=status,
        service=request.query.get("service") or None,
        assignee=request.query.get("assignee") or None,
        contact=request.query.get("contact") or None,
        sla=sla,
        **_folders(request, who),
    )
    limit = _int_param(request, "limit", 50, 1, MAX_PAGE)
    cases, cursor = await runtime.store.page(flt, limit, _cursor(request))
    next_cursor = str(cursor) if cursor is not None else None
    return web.json_response({"cases": cases, "next_cursor": next_cursor})


async def get_case(request: web.Request) -> web.Response:
    runtime, _ = actor(request)
    return web.json_response(await runtime.store.case(case_id_of(request)))


async def get_attachment(request: web.Request) -> web.Response:
    runtime, _ = actor(request)
    n = validate.positive_id(request.match_info["n"])
    if n is None:
        raise NotFound("There is no such attachment.", code="attachment_not_found")
    meta, digest = await runtime.store.attachment(case_id_of(request), n)
    try:
        data = await asyncio.to_thread(runtime.intake.blobs.get, digest)
    except (KeyError, ValueError):  # a blob store that lost it: the entry still shows its metadata
        raise NotFound("The attachment's bytes are gone.", code="attachment_not_found") from None
    disposition = f"attachment; filename*=UTF-8''{quote(meta['name'], safe='')}"
    return web.Response(
        body=data, content_type=meta["type"], headers={"Content-Disposition": disposition}
    )


def _manual_message(runtime: Runtime, body: NewCase, key: str | None) -> InboundMessage:
    contact = body.contact
    phone = validate.text(contact.phone, "contact.phone").strip()
    email = validate.text(contact.email, "contact.email").strip()
    if not phone and not email:
        raise InvalidField("The contact needs a phone or an e-mail.", field="contact.phone")
    return InboundMessage(
        channel="phone",
        dedupe_scope="api",
        delivery_id=validate.idempotency_key(key),
        sender_phone=normalize(phone, runtime.config.default_region) if phone else "",
        sender_email=email,
        sender_name=validate.text(contact.name, "contact.name"),
        text=validate.text(body.text, "text", required=True, allow_empty=False),
        subject=validate.text(body.subject, "subject"),
        threading="new",
    )


def _manual_decision(runtime: Runtime, body: NewCase, msg: InboundMessage) -> Decision:
    config = runtime.config
    service = validate.choice(body.service, "service", config.routing.services)
    type_ = validate.choice(body.type, "type", config.routing.types)
    ruled = decide(config.routing, msg)
    chosen_type = type_ or ruled.type
    priority = config.routing.types[chosen_type] if type_ else ruled.priority
    return Decision(service or ruled.service, chosen_type, priority, ruled.rule)


CLASSIFICATION = (
    "theme",
    "subtheme",
    "product",
    "fields",
)  # of a NewCase; its type: the case's own


def _manual(runtime: Runtime, who: Actor, body: NewCase, service: str) -> ManualCase:
    config = runtime.config
    given = {name: getattr(body, name) for name in CLASSIFICATION}
    return ManualCase(
        created_by=who.operator or "",
        merge_within=0.0 if body.force else config.merge_within,
        classification=workflow.initial(given, config, service),
    )


async def create_case(request: web.Request) -> web.Response:
    runtime, who = actor(request)
    body = await json_as(request, NewCase)
    message = _manual_message(runtime, body, request.headers.get("Idempotency-Key"))
    decision = _manual_decision(runtime, body, message)
    manual = _manual(runtime, who, body, decision.service)
    try:
        result = await runtime.intake.submit(runtime.config, message, decision, manual)
    except RoutingRefused as error:
        if error.code != "duplicate_case":
            raise refused(error) from None
        raise Conflict(
            "The contact has an open case in this service opened within [cases].merge_within;"
            ' send "force": true to open another.',
            code="duplicate_case",
            extra={"case_id": error.detail.get("case_id")},
        ) from None
    return web.json_response(await runtime.store.case(result.case_id), status=201)


async def find_contact(request: web.Request) -> web.Response:
    runtime, _ = actor(request)
    phone = request.query.get("phone", "").strip()
    email = request.query.get("email", "").strip()
    if not phone and not email:
        raise InvalidField("Give 'phone' or 'email'.", code="missing_field", field="phone")
    normalized = normalize(phone, runtime.config.default_region) if phone else ""
    contact_id = await runtime.store.contact_by(normalized, email)
    if contact_id is None:
        raise NotFound("No contact has that phone or e-mail.", code="contact_not_found")
    return web.json_response(
        {
            "contact": await runtime.store.contact(contact_id),
            "open_cases": await runtime.store.open_cases(contact_id),
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/cases", list_cases)
    app.router.add_post("/api/cases", create_case)
    app.router.add_get("/api/cases/{case_id}", get_case)
    app.router.add_get("/api/cases/{case_id}/attachments/{n}", get_attachment)
    app.router.add_get("/api/contacts", find_contact)
