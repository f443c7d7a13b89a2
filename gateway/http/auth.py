"""Who may call what, decided once per request by path, before any handler runs.

Audiences: providers (`/hooks/`, `/forms/`: their channel verifies them), operators (`/api/`:
an operator's bearer token or the admin's), admins (`/api/admin/`, `/metrics`). A handler added
under one of these prefixes is authenticated without asking for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.config import Config
from gateway.http.app_keys import RUNTIME
from gateway.runtime.state import Actor, Runtime

ACTOR = web.RequestKey("actor", Actor)
CONFIG = web.RequestKey("config", Config)
ADMIN_PREFIXES = ("/api/admin/", "/metrics")
OPERATOR_PREFIXES = ("/api/",)
PUBLIC_PATHS = frozenset(("/api/openapi.json", "/api/docs", "/api/docs/docs.js"))  # the API doc

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    # One config snapshot per request: a reload in the middle must not mix two versions.
    request[CONFIG] = runtime.config
    if request.match_info.http_exception is None and request.path not in PUBLIC_PATHS:
        # unknown paths stay 404, not 401
        header = request.headers.get("Authorization")
        if request.path.startswith(ADMIN_PREFIXES):
            request[ACTOR] = runtime.authenticate_admin(header)
        elif request.path.startswith(OPERATOR_PREFIXES):
            request[ACTOR] = runtime.authenticate(header)
    return await handler(request)


def actor(request: web.Request) -> tuple[Runtime, Actor]:
    """The runtime and the caller the middleware authenticated (operator routes only)."""
    return request.app[RUNTIME], request[ACTOR]


def config_of(request: web.Request) -> Config:
    return request[CONFIG]
