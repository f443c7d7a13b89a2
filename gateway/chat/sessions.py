"""Chat sessions and the limits a visitor lives under, kept in Redis so every process agrees."""

from __future__ import annotations

import time
from dataclasses import dataclass

from gateway.runtime.state import Runtime
from gateway.views import decoded, text

SESSION_TTL = 24 * 3600  # a session idle this long is forgotten; the case stays
IP_WINDOW = 3600  # sessions_per_ip counts sessions opened in this many seconds


@dataclass(frozen=True)
class Session:
    token: str
    case_id: int
    contact_id: str


async def load(runtime: Runtime, token: str) -> Session | None:
    key = runtime.keys.chat_session(token)
    async with runtime.redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(key)
        pipe.expire(key, SESSION_TTL)
        fields, _ = await pipe.execute()
    found = decoded(fields)
    if not found.get("case", "").isdigit():
        return None
    return Session(token, int(found["case"]), found.get("contact", ""))


async def save(runtime: Runtime, session: Session) -> None:
    key = runtime.keys.chat_session(session.token)
    async with runtime.redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, "case", session.case_id)
        pipe.hset(key, "contact", session.contact_id)
        pipe.hsetnx(key, "created", int(time.time() * 1000))
        pipe.expire(key, SESSION_TTL)
        await pipe.execute()


async def _counted(runtime: Runtime, key: str, ttl: int, limit: int) -> bool:
    """One more in a fixed window; False when that is over `limit`."""
    async with runtime.redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, ttl, nx=True)
        count, _ = await pipe.execute()
    return int(count) <= limit


async def may_open(runtime: Runtime, address: str, limit: int) -> bool:
    return await _counted(runtime, runtime.keys.chat_ip(address), IP_WINDOW, limit)


async def online(runtime: Runtime, case_id: int) -> bool:
    """Whether a member of the case's service is available: else the widget offers e-mail."""
    service_id = await runtime.redis.hget(runtime.keys.case(case_id), "sv")
    service = runtime.config.routing.services.get(text(service_id or b""))
    if service is None or not service.operators:
        return False
    async with runtime.redis.pipeline(transaction=False) as pipe:
        for operator in service.operators:
            pipe.hget(runtime.keys.operator(operator), "pr")
        presences = await pipe.execute()
    return any(p is not None and text(p) == "available" for p in presences)
