"""Operator endpoints: their state and presence, and the case actions that go through routing."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from msgspec import UNSET, UnsetType

from channels import validate
from channels.errors import InvalidField
from gateway import outbound
from gateway.chat.deliver import deliver_chat_reply
from gateway.deadlines import resume_shift
from gateway.http.api.cases import case_id_of
from gateway.http.api.refusals import refused as refused  # as before, for the other routes
from gateway.http.app_keys import RUNTIME
from gateway.http.auth import actor
from gateway.http.body import json_as
from gateway.http.schemas.actions import Accept, Pause, Transfer
from gateway.http.schemas.cases import CaseText
from gateway.http.schemas.contacts import ContactChange
from gateway.runtime.state import Actor, Runtime
from routing.errors import RoutingRefused

LATEST_UNTIL = 32_503_680_000.0  # 3000-01-01: later resume times render badly and mean nothing


def now_ms() -> int:
    return int(time.time() * 1000)


def _acting(who: Actor) -> str:
    return "" if who.admin else str(who.operator)


async def _act(
    request: web.Request, step: Callable[[Runtime, Actor, int], Awaitable[dict[str, Any]]]
) -> web.Response:
    runtime, who = actor(request)
    case_id = case_id_of(request)
    try:
        await step(runtime, who, case_id)
    except RoutingRefused as error:
        raise refused(error) from None
    return web.json_response(await runtime.store.case(case_id, timeline=False))


def _text(value: str | None, name: str, *, required: bool) -> str:
    if value is None and not required:
        return ""
    if value is None or (required and not value.strip()):
        raise InvalidField(f"'{name}' must be a non-empty string.", field=name)
    return validate.storable(value, name)


async def accept(request: web.Request) -> web.Response:
    body = await json_as(request, Accept) if request.can_read_body else Accept()
    offer = _text(body.offer_id, "offer_id", required=False)
    return await _act(
        request, lambda rt, who, cid: rt.scripts.accept(rt.clock.now_ms(), cid, _acting(who), offer)
    )


async def decline(request: web.Request) -> web.Response:
    return await _act(
        request, lambda rt, who, cid: rt.scripts.decline(rt.clock.now_ms(), cid, _acting(who))
    )


async def resolve(request: web.Request) -> web.Response:
    return await _act(
        request, lambda rt, who, cid: rt.scripts.resolve(rt.clock.now_ms(), cid, _acting(who))
    )


async def _resume(runtime: Runtime, who: Actor, case_id: int) -> dict[str, Any]:
    now = runtime.clock.now_ms()
    shift = await resume_shift(runtime, case_id, now)
    return await runtime.scripts.resume(now, case_id, _acting(who), shift=shift)


async def resume(request: web.Request) -> web.Response:
    return await _act(request, _resume)


def _until(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidField("'until' must be an RFC 3339 time.", field="until") from None
    if moment.tzinfo is None:
        raise InvalidField("'until' needs a time zone (Z or +hh:mm).", field="until")
    if not validate.EARLIEST <= moment.timestamp() <= LATEST_UNTIL:
        raise InvalidField("'until' must be between 2000 and 2999.", field="until")
    return int(moment.timestamp() * 1000)


async def pause(request: web.Request) -> web.Response:
    body = await json_as(request, Pause)
    reason, until = _text(body.reason, "reason", required=True), _until(body.until)
    return await _act(
        request,
        lambda rt, who, cid: rt.scripts.pause(rt.clock.now_ms(), cid, _acting(who), reason, until),
    )


def _transfer_target(runtime: Runtime, body: Transfer) -> tuple[str, str]:
    if body.operator is not None:
        target = _text(body.operator, "operator", required=True)
        if target not in runtime.config.routing.operators:
            raise InvalidField(f"There is no operator '{target}'.", field="operator")
        return "operator", target
    if body.service is not None:
        target = _text(body.service, "service", required=True)
        if target not in runtime.config.routing.services:
            raise InvalidField(f"There is no service '{target}'.", field="service")
        return "service", target
    raise InvalidField("Give 'operator' or 'service'.", code="missing_field", field="operator")


async def transfer(request: web.Request) -> web.Response:
    body = await json_as(request, Transfer)
    kind, target = _transfer_target(request.app[RUNTIME], body)
    return await _act(
        request,
        lambda rt, who, cid: rt.scripts.transfer(
            rt.clock.now_ms(), cid, _acting(who), kind, target, who.admin
        ),
    )


async def note(request: web.Request) -> web.Response:
    runtime, who = actor(request)
    case_id = case_id_of(request)
    text = _text((await json_as(request, CaseText)).text, "text", required=True)
    try:
        await runtime.scripts.note(
            runtime.clock.now_ms(),
            case_id,
            who.operator or "admin",
            text,
            int(runtime.config.edit_window * 1000),
            who.admin,
        )
    except RoutingRefused as error:
        raise refused(error) from None
    return web.json_response(await runtime.store.case(case_id, timeline=False), status=201)


async def reply(request: web.Request) -> web.Response:
    """202: the reply is recorded `queued`; a worker job sends it (gateway/runtime/outbox.py)."""
    runtime, who = actor(request)
    case_id = case_id_of(request)
    text = _text((await json_as(request, CaseText)).text, "text", required=True)
    try:  # a chat reply goes straight to the visitor's socket (pub/sub), no outbox job
        entry_id = await deliver_chat_reply(runtime, case_id, _acting(who), text)
    except RoutingRefused as error:
        if error.code != "not_chat":
            raise refused(error) from None
    else:
        return web.json_response({"case_id": case_id, "entry_id": entry_id}, status=202)
    channels = outbound.enabled(runtime.config)
    try:
        found = await runtime.scripts.reply(now_ms(), case_id, _acting(who), text, channels)
    except RoutingRefused as error:
        raise refused(error) from None
    body = {"case_id": case_id, "entry_id": found["id"], "delivery": "queued"}
    return web.json_response(body, status=202)


def _given(value: str | UnsetType | None) -> str | None:
    return None if isinstance(value, UnsetType) else value


async def set_owner(request: web.Request) -> web.Response:
    """`owner` and/or `category` (a [[client_categories]] id, or null)."""
    runtime, who = actor(request)
    contact_id = request.match_info["contact_id"]
    body = await json_as(request, ContactChange)
    if body.owner is UNSET and body.category is UNSET:
        raise InvalidField("'owner' is required.", code="missing_field", field="owner")
    routing, now = runtime.config.routing, runtime.clock.now_ms()
    owner = validate.choice(_given(body.owner), "owner", routing.operators)
    category = validate.choice(_given(body.category), "category", routing.categories)
    try:
        if body.category is not UNSET:  # first: a refusal (not the owner) leaves the owner as is
            await runtime.scripts.set_category(now, contact_id, _acting(who), category)
        if body.owner is not UNSET:
            await runtime.scripts.set_owner(now, contact_id, _acting(who), owner)
    except RoutingRefused as error:
        raise refused(error) from None
    return web.json_response(await runtime.store.contact(contact_id))


def add_routes(app: web.Application) -> None:
    app.router.add_patch("/api/contacts/{contact_id}", set_owner)
    for name, handler in (
        ("accept", accept),
        ("decline", decline),
        ("resolve", resolve),
        ("resume", resume),
        ("pause", pause),
        ("transfer", transfer),
        ("note", note),
        ("reply", reply),
    ):
        app.router.add_post(f"/api/cases/{{case_id}}/{name}", handler)
