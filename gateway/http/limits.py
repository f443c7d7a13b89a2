"""Rate limits at the HTTP edge, before any body is read: provider and form posts per client
address, the operator API per signed-in operator (runs after the auth middleware)."""

from __future__ import annotations

from aiohttp import hdrs, web

from gateway.http.app_keys import RUNTIME
from gateway.http.auth import ACTOR, Handler, config_of
from gateway.limits.address import client_address, is_exempt
from gateway.limits.limiter import charge
from gateway.limits.settings import LimitSettings

ADDRESS_SCOPES = (("/hooks/", "webhooks"), ("/forms/", "forms"))


def source_address(request: web.Request) -> str:
    limits = config_of(request).limits
    forwarded = request.headers.get(hdrs.X_FORWARDED_FOR, "")
    return client_address(request.remote or "", forwarded, limits.trusted_proxies)


def _per_minute(limits: LimitSettings, scope: str) -> int:
    return {
        "webhooks": limits.webhooks_per_minute,
        "forms": limits.forms_per_minute,
        "api": limits.api_per_minute,
    }[scope]


def _scope(request: web.Request) -> tuple[str, str] | None:
    """(scope, who) of a limited request; None for the rest."""
    if request.method == hdrs.METH_POST:
        for prefix, scope in ADDRESS_SCOPES:
            if request.path.startswith(prefix):
                return scope, source_address(request)
    actor = request.get(ACTOR)
    if actor is not None:  # an /api/ route: the auth middleware has named the caller
        return "api", "admin" if actor.admin else f"op:{actor.operator}"
    return None


@web.middleware
async def limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    limited = _scope(request) if request.match_info.http_exception is None else None
    if limited is not None:
        scope, who = limited
        limits = config_of(request).limits
        if not is_exempt(source_address(request), limits.exempt):
            scripts = request.app[RUNTIME].scripts
            await charge(scripts, scope, who, _per_minute(limits, scope))
    return await handler(request)
