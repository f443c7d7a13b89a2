"""Case workflow endpoints: PATCH a case's classification and fields, classify a triage case,
reopen a resolved one; each decided by one step of routing/lua/workflow.lua."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from channels import validate
from channels.errors import Conflict, InvalidField, NotFound
from gateway import workflow
from gateway.config import Config
from gateway.http.api.actions import refused
from gateway.http.api.cases import case_id_of
from gateway.http.auth import actor
from gateway.http.body import json_as
from gateway.http.schemas.workflow import CasePatch, Classify
from gateway.runtime.state import Actor, Runtime
from gateway.views import integer, text
from routing.deadlines import category_dues
from routing.errors import RoutingRefused

ATTEMPTS = 5  # a case changed between the read and the step (`stale`) is tried again
SNAPSHOT = ("sv", "ca", "cl", "pt", "pr")


def _acting(who: Actor) -> str:
    return "" if who.admin else str(who.operator)


def _window_ms(config: Config) -> int:
    return int(config.edit_window * 1000)


async def _snapshot(runtime: Runtime, case_id: int) -> dict[str, str]:
    """What the due times and field checks are computed from (the step checks it is current)."""
    raw = await runtime.redis.hmget(runtime.keys.case(case_id), *SNAPSHOT)
    if raw[0] is None:
        raise NotFound(f"There is no case {case_id}.", code="case_not_found")
    return {name: "" if v is None else text(v) for name, v in zip(SNAPSHOT, raw, strict=True)}


def _patch_due(config: Config, snap: dict[str, str], found: dict[str, Any]) -> Any:
    """The clocks of the new type's priority, from the case's start, pauses kept."""
    if "type" not in found:
        return None
    start = integer(snap["cl"] or snap["ca"]) or 0
    priority = config.routing.types[found["type"]]
    return category_dues(config.routing, priority, snap["sv"], start, integer(snap["pt"]) or 0)


async def _patch_once(
    runtime: Runtime, who: Actor, case_id: int, body: dict[str, Any]
) -> dict[str, Any] | None:  # fmt: skip
    """The step's answer; None when the case changed since its snapshot."""
    config = runtime.config
    snap = await _snapshot(runtime, case_id)
    found = workflow.changes(body, config, snap["sv"])
    seen = {name: snap[name] for name in ("sv", "cl", "pt")}
    context = {"window": _window_ms(config), "seen": seen, "due": _patch_due(config, snap, found)}
    args = (json.dumps(found), workflow.catalogue_json(config.routing), json.dumps(context))
    try:
        return await runtime.scripts.wf_patch(runtime.clock.now_ms(), case_id, _acting(who), *args)
    except RoutingRefused as error:
        if error.code == "stale":
            return None
        raise refused(error) from None


async def patch_case(request: web.Request) -> web.Response:
    runtime, who = actor(request)
    case_id = case_id_of(request)
    body = workflow.given(await json_as(request, CasePatch))
    if not body:
        what = f"Give one of {', '.join(CasePatch.__struct_fields__)}."
        raise InvalidField(what, code="missing_field", field=CasePatch.__struct_fields__[0])
    for _ in range(ATTEMPTS):
        step = await _patch_once(runtime, who, case_id, body)
        if step is not None:
            return web.json_response(runtime.store.view(case_id, step))
    raise Conflict("The case kept changing; try again.", code="case_busy")


def _classification(config: Config, body: Classify) -> tuple[str, dict[str, Any]]:
    service = str(validate.choice(body.service, "service", config.routing.services))
    rest = {name: value for name, value in workflow.given(body).items() if name != "service"}
    return service, workflow.changes(rest, config, service)


async def classify(request: web.Request) -> web.Response:
    runtime, who = actor(request)
    case_id = case_id_of(request)
    config = runtime.config
    service, found = _classification(config, await json_as(request, Classify))
    now = runtime.clock.now_ms()
    priority = config.routing.types[found["type"]]
    context = {"service": service, "due": category_dues(config.routing, priority, service, now)}
    args = (json.dumps(found), workflow.catalogue_json(config.routing), json.dumps(context))
    try:
        step = await runtime.scripts.wf_classify(now, case_id, _acting(who), *args)
    except RoutingRefused as error:
        raise refused(error) from None
    return web.json_response(runtime.store.view(case_id, step))


async def reopen(request: web.Request) -> web.Response:
    runtime, who = actor(request)
    case_id = case_id_of(request)
    config, now = runtime.config, runtime.clock.now_ms()
    snap = await _snapshot(runtime, case_id)
    due = category_dues(config.routing, integer(snap["pr"]) or 1, snap["sv"], now)
    args = (workflow.catalogue_json(config.routing), _window_ms(config), json.dumps(due))
    try:
        step = await runtime.scripts.wf_reopen(now, case_id, _acting(who), *args)
    except RoutingRefused as error:
        raise refused(error) from None
    return web.json_response(runtime.store.view(case_id, step))


def add_routes(app: web.Application) -> None:
    app.router.add_patch("/api/cases/{case_id}", patch_case)
    app.router.add_post("/api/cases/{case_id}/classify", classify)
    app.router.add_post("/api/cases/{case_id}/reopen", reopen)
