"""Per request: its id (X-Request-Id, in every log line written meanwhile), one access log line,
and the HTTP metrics, labelled by the route's template (`/api/cases/{id}`), never the raw path.

Outermost middleware, so it sees the final status of every answer the app gives, errors too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from gateway.telemetry import instruments, logs
from gateway.telemetry.context import HEADER, REQUEST_ID, request_id

access = logging.getLogger(logs.ACCESS_LOGGER)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID_KEY = web.RequestKey("request_id", str)
CLIENT_CLOSED = 499
UNMATCHED = "unmatched"  # 404s and 405s: one label for every path nobody routes


def route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    if resource is None or request.match_info.http_exception is not None:
        return UNMATCHED
    return resource.canonical


def middleware(metrics: bool) -> Middleware:
    """`metrics`: count in the per-process metrics too ([metrics].per_process)."""

    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        rid = request_id(request.headers.get(HEADER))
        request[REQUEST_ID_KEY] = rid
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as error:  # redirects the handlers raise
            status = error.status
            error.headers[HEADER] = rid
            raise
        except asyncio.CancelledError:  # the client went away first (nginx's 499)
            status = CLIENT_CLOSED
            raise
        finally:
            seconds = time.perf_counter() - started
            route = route_of(request)
            if metrics:
                instruments.http_request(route, request.method, status, seconds)
            if access.isEnabledFor(logging.INFO):
                _access_line(request.method, route, status, seconds)
            REQUEST_ID.reset(token)

    return observe


def _access_line(method: str, route: str, status: int, seconds: float) -> None:
    ms = round(seconds * 1000, 2)
    fields = {"method": method, "route": route, "status": status, "duration_ms": ms}
    logs.access(f"{method} {route} {status} {ms:.2f}ms", fields)


async def stamp_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the header on every answer, streamed ones (SSE, WebSocket) too."""
    rid = request.get(REQUEST_ID_KEY)
    if rid:
        response.headers[HEADER] = rid
