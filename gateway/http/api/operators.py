"""Operator state: `GET /api/operators/{id}`, presence, and the live event stream (SSE)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels.errors import Forbidden, NotFound
from channels.message import CHANNELS
from gateway.http.api.actions import now_ms, refused
from gateway.http.auth import actor
from gateway.http.body import json_as
from gateway.http.schemas.operators import PresenceChange
from gateway.runtime.cancel import raise_if_cancelled
from gateway.runtime.state import Runtime
from gateway.views import decoded, rfc3339, text
from routing.errors import RoutingRefused

# Short blocking reads: under the client's socket timeout, and a swallowed cancel (see
# gateway/cancel.py) is noticed within a second. Idle streams get a comment every 15 s.
SSE_BLOCK_MS = 1000
KEEP_ALIVE_EVERY = 15
SSE_RECONNECT = 0.5  # seconds between reads while Redis is away
STREAMS: web.AppKey[set[asyncio.Task[Any]]] = web.AppKey("event streams")


def _operator_id(request: web.Request, runtime: Runtime) -> str:
    operator_id = request.match_info["operator_id"]
    if operator_id not in runtime.config.routing.operators:
        raise NotFound(f"There is no operator '{operator_id}'.", code="operator_not_found")
    return operator_id


def _authorized(request: web.Request) -> tuple[Runtime, str]:
    runtime, who = actor(request)
    operator_id = _operator_id(request, runtime)
    if not who.may_act_for(operator_id):
        raise Forbidden("You may act only for yourself.", code="not_yours")
    return runtime, operator_id


async def get_operator(request: web.Request) -> web.Response:
    runtime, operator_id = _authorized(request)
    keys = runtime.keys
    fields = decoded(await runtime.redis.hgetall(keys.operator(operator_id)))
    members = await runtime.redis.smembers(keys.operator_cases(operator_id))
    cases = await runtime.store.cases(sorted(int(text(m)) for m in members))
    operator = runtime.config.routing.operators[operator_id]
    load = {"total": int(fields.get("lt", 0))}
    load.update({ch: int(fields.get(f"l:{ch}", 0)) for ch in CHANNELS})
    capacity = {"total": operator.capacity.total, **operator.capacity.per_channel}
    return web.json_response(
        {
            "id": operator_id,
            "name": operator.name,
            "presence": fields.get("pr", "offline"),
            "load": load,
            "capacity": capacity,
            "cases": cases,
        }
    )


async def me(request: web.Request) -> web.Response:
    """Who the token is, and whom a case can be transferred to (the console's directory)."""
    runtime, who = actor(request)
    routing = runtime.config.routing
    return web.json_response(
        {
            "operator": who.operator,
            "admin": who.admin,
            "operators": [{"id": o.id, "name": o.name} for o in routing.operators.values()],
            "services": [{"id": s.id, "name": s.name} for s in routing.services.values()],
        }
    )


async def put_presence(request: web.Request) -> web.Response:
    runtime, operator_id = _authorized(request)
    presence = (await json_as(request, PresenceChange)).presence
    try:
        await runtime.scripts.presence(now_ms(), operator_id, presence)
    except RoutingRefused as error:
        raise refused(error) from None
    return web.json_response({"id": operator_id, "presence": presence})


async def events(request: web.Request) -> web.StreamResponse:
    runtime, operator_id = _authorized(request)
    stream = runtime.keys.events(operator_id)
    # "$" is fixed to the newest id before the headers go out: read as "$" again on each loop,
    # it would skip what arrived between two reads, and a client that loads its state once the
    # stream answers (the console) would miss that event.
    last = request.headers.get("Last-Event-ID") or await _newest_id(runtime, stream)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})  # fmt: skip
    await response.prepare(request)
    task = asyncio.current_task()
    streams = request.app[STREAMS]
    if task is not None:
        streams.add(task)
    idle = 0
    try:
        while True:
            try:
                found = await runtime.redis.xread({stream: last}, block=SSE_BLOCK_MS, count=100)
            except (RedisConnectionError, RedisTimeoutError):
                # Redis restarting: keep the stream; reading on from `last` misses nothing
                raise_if_cancelled()
                await asyncio.sleep(SSE_RECONNECT)
                continue
            raise_if_cancelled()
            if not found:
                idle += 1
                if idle % KEEP_ALIVE_EVERY == 0:
                    await response.write(b": keep-alive\n\n")
                continue
            idle = 0
            for event_id, fields in _entries(found):
                last = event_id
                await response.write(_sse(last, fields))
    except ConnectionResetError:
        pass  # the operator went away
    finally:
        if task is not None:
            streams.discard(task)
    return response


async def _newest_id(runtime: Runtime, stream: str) -> str:
    newest = await runtime.redis.xrevrange(stream, count=1)
    return text(newest[0][0]) if newest else "0-0"


async def close_streams(app: web.Application) -> None:
    """On shutdown: end the endless event streams so in-flight requests can drain."""
    streams = app[STREAMS]
    for task in tuple(streams):
        task.cancel()


def _entries(reply: Any) -> list[tuple[str, dict[str, str]]]:
    """XREAD's reply for one stream as (id, fields) pairs of text."""
    return [(text(event_id), decoded(fields)) for event_id, fields in reply[0][1]]


def _sse(event_id: str, fields: dict[str, str]) -> bytes:
    data: dict[str, Any] = dict(fields)
    kind = data.pop("type", "message")
    if "case" in data:
        data["case_id"] = int(data.pop("case"))
    for name in ("expires_at", "due"):
        if name in data:
            data[name] = rfc3339(data[name])
    payload = json.dumps(data, separators=(",", ":"))
    return f"id: {event_id}\nevent: {kind}\ndata: {payload}\n\n".encode()


def add_routes(app: web.Application) -> None:
    app[STREAMS] = set()
    app.on_shutdown.append(close_streams)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/operators/{operator_id}", get_operator)
    app.router.add_put("/api/operators/{operator_id}/presence", put_presence)
    app.router.add_get("/api/operators/{operator_id}/events", events)
