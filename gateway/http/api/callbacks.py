"""Scheduled callbacks: `POST /api/cases/{id}/callback` and `/callback/attempt`, and the
missed-call path that makes a case a public callback due now."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from msgspec import UnsetType

from channels import validate
from channels.errors import InvalidField
from channels.settings import parse_duration
from gateway.http.api.actions import LATEST_UNTIL, refused
from gateway.http.api.cases import case_id_of
from gateway.http.auth import actor
from gateway.http.body import json_as
from gateway.http.schemas.callbacks import Attempt, Callback
from gateway.runtime.state import Runtime
from gateway.views import text
from routing.deadlines import schedule_of
from routing.errors import RoutingRefused
from routing.schedule import Schedule, next_opening

LATEST_IN = 366 * 86400.0  # a callback further ahead than a year is a typo


async def missed_call(runtime: Runtime, case_id: int) -> None:
    """For the phone channel, after intake stored a missed or abandoned call: the case becomes a
    public callback due now (RoutingRefused `already_resolved` for a resolved case)."""
    await runtime.scripts.callback_missed(runtime.clock.now_ms(), case_id)


async def _schedule(runtime: Runtime, case_id: int) -> Schedule:
    found = await runtime.redis.hget(runtime.keys.case(case_id), "sc")
    return schedule_of(runtime.config.routing, text(found) if found is not None else None)


def _at(raw: str) -> int:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidField("'at' must be an RFC 3339 time with a zone (Z or +hh:mm).", field="at")
    if not validate.EARLIEST <= moment.timestamp() <= LATEST_UNTIL:
        raise InvalidField("'at' must be between 2000 and 2999.", field="at")
    return int(moment.timestamp() * 1000)


def _in(raw: str) -> int:
    try:
        seconds = parse_duration(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= LATEST_IN:
        raise InvalidField("'in' must be a duration like \"30m\" (at most a year).", field="in")
    return int(seconds * 1000)


async def _due(runtime: Runtime, case_id: int, body: Callback) -> int:
    """Relative: now + in. Absolute: `at`, moved to the next opening of the case's schedule."""
    now, at, in_ = runtime.clock.now_ms(), body.at, body.in_
    if isinstance(in_, str) and isinstance(at, UnsetType):
        return now + _in(in_)
    if isinstance(at, str) and isinstance(in_, UnsetType):
        return next_opening(await _schedule(runtime, case_id), max(_at(at), now))
    raise InvalidField("Give either 'at' or 'in'.", code="missing_field", field="at")


async def schedule_callback(request: web.Request) -> web.Response:
    runtime, who = actor(request)
    case_id = case_id_of(request)
    body = await json_as(request, Callback)
    note = validate.text(body.note, "note")
    due = await _due(runtime, case_id, body)
    acting = "" if who.admin else str(who.operator)
    try:
        await runtime.scripts.callback(
            runtime.clock.now_ms(), case_id, acting, body.kind, due, note
        )
    except RoutingRefused as error:
        raise refused(error) from None
    return web.json_response(await runtime.store.case(case_id, timeline=False), status=201)


async def log_attempt(request: web.Request) -> web.Response:
    runtime, who = actor(request)
    case_id = case_id_of(request)
    body = await json_as(request, Attempt)
    reached, note = body.reached, validate.text(body.note, "note")
    settings, now = runtime.config.routing.callbacks, runtime.clock.now_ms()
    retry = next_opening(await _schedule(runtime, case_id), now + int(settings.retry_in * 1000))
    acting = "" if who.admin else str(who.operator)
    try:
        await runtime.scripts.callback_attempt(
            now, case_id, acting, reached, note, (retry, settings.max_attempts)
        )
    except RoutingRefused as error:
        raise refused(error) from None
    return web.json_response(await runtime.store.case(case_id, timeline=False))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/cases/{case_id}/callback", schedule_callback)
    app.router.add_post("/api/cases/{case_id}/callback/attempt", log_attempt)
