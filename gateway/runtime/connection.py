"""Every Redis client of the product is made here, async or blocking, from `[redis]`: the
server a URL names (redis://, rediss://, unix://), or with `sentinels` the current primary of
`service`, with the ACL user and password and the TLS files applied to either.

A Sentinel-managed client asks the sentinels for the primary on each new connection, and a
connection to a demoted primary that answers READONLY is dropped as a ConnectionError; both
map to 503 at the edges (gateway/http/errors.py, gateway/smtp/replies.py), and the next request
after the switch reaches the new primary with the same client: no restart.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.sentinel import Sentinel, SentinelConnectionPool

from gateway.redis_settings import RedisSettings
from gateway.runtime import redis_fixes as fixes

SENTINEL_TIMEOUT = 2.0  # seconds for a sentinel's answer; a silent one is skipped for the next


def async_client(url: str, settings: RedisSettings, **options: Any) -> aioredis.Redis:
    """`url` when given (a flag or INTAKE_REDIS_URL overrides the sentinels), else Sentinel's
    primary; `options` are redis-py's (socket_timeout, retry, ...)."""
    if url or not settings.sentinels:
        client = aioredis.Redis.from_url(url, **_server(settings, url), **options)
        pool = client.connection_pool  # its class follows the URL's scheme
        pool.connection_class = fixes.CHECKED.get(pool.connection_class, pool.connection_class)
        return client
    sentinel = AsyncSentinel(
        list(settings.sentinels), sentinel_kwargs=_sentinel(settings), **_server(settings, url)
    )
    kind = fixes.AsyncSentinelTlsConnection if settings.tls else fixes.AsyncSentinelConnection
    managed: aioredis.Redis = sentinel.master_for(
        settings.service, connection_class=kind, **options
    )
    return managed


def sync_client(url: str, settings: RedisSettings, **options: Any) -> redis.Redis:
    """The blocking twin of `async_client` (RQ, the outbox feeder's enqueues, `serve`'s checks)."""
    if url or not settings.sentinels:
        return redis.Redis.from_url(url, **_server(settings, url), **options)
    sentinel = Sentinel(
        list(settings.sentinels), sentinel_kwargs=_sentinel(settings), **_server(settings, url)
    )
    kind = fixes.SentinelTlsConnection if settings.tls else fixes.SentinelConnection
    client: redis.Redis = sentinel.master_for(settings.service, connection_class=kind, **options)
    return client


async def aclose(client: aioredis.Redis) -> None:
    """Close the client and, for a Sentinel-managed one, its connections to the sentinels."""
    await client.aclose()
    pool = client.connection_pool
    if isinstance(pool, AsyncSentinelPool):
        for sentinel in pool.sentinel_manager.sentinels:
            await sentinel.aclose()


def close(client: redis.Redis) -> None:
    client.close()
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        for sentinel in pool.sentinel_manager.sentinels:
            sentinel.close()


def _server(settings: RedisSettings, url: str) -> dict[str, Any]:
    """Credentials and TLS for the data connections (a URL's own user:password win)."""
    found: dict[str, Any] = _tls(settings) if url.startswith("rediss:") else {}
    if settings.sentinels and not url and settings.tls:
        found = {"ssl": True, **_tls(settings)}
    if settings.username:
        found["username"] = settings.username
    if settings.password is not None:
        found["password"] = settings.password.reveal()
    return found


def _sentinel(settings: RedisSettings) -> dict[str, Any]:
    found: dict[str, Any] = {
        "socket_timeout": SENTINEL_TIMEOUT,
        "socket_connect_timeout": SENTINEL_TIMEOUT,
    }
    if settings.tls:
        found.update(ssl=True, **_tls(settings))
    if settings.sentinel_username:
        found["username"] = settings.sentinel_username
    if settings.sentinel_password is not None:
        found["password"] = settings.sentinel_password.reveal()
    return found


def _tls(settings: RedisSettings) -> dict[str, Any]:
    files = {
        "ssl_ca_certs": settings.tls_ca_file,
        "ssl_certfile": settings.tls_cert_file,
        "ssl_keyfile": settings.tls_key_file,
    }
    return {name: path for name, path in files.items() if path}
