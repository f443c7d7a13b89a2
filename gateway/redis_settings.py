"""`[redis]` beyond the URL: Sentinel (`sentinels`, `service`), ACL credentials and TLS files.

Read by gateway/config.py; gateway/runtime/connection.py makes every client from them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from channels.settings import Secret, Table

DEFAULT_SERVICE = "mymaster"  # the name Sentinel's own sample config monitors


@dataclass(frozen=True)
class RedisSettings:
    sentinels: tuple[tuple[str, int], ...] = ()  # empty: the URL names the server
    service: str = DEFAULT_SERVICE  # the primary's name in `sentinel monitor <service> ...`
    username: str = ""  # an ACL user; empty: `default` (or the URL's)
    password: Secret | None = None
    sentinel_username: str = ""
    sentinel_password: Secret | None = None
    tls: bool = False  # Sentinel and the primaries over TLS (a URL says it with rediss://)
    tls_ca_file: str = ""  # empty: the system's trusted CAs
    tls_cert_file: str = ""  # a client certificate, for servers with tls-auth-clients yes
    tls_key_file: str = ""
    wait_replicas: int = 0  # WAIT for this many replicas before a write is acknowledged
    wait_timeout: float = 1.0  # seconds; fewer replicas by then: 503, the provider retries


def read_redis(table: Table, url: str) -> RedisSettings:
    """The keys next to `url` (which `table` reads itself); problems name the dotted key."""
    sentinels = tuple(_sentinel(table, text) for text in table.strings("sentinels"))
    if sentinels and url:
        table.problem("sentinels", "give either url or sentinels, not both")
    service = table.text("service", DEFAULT_SERVICE) or ""
    if not service:
        table.problem("service", "must not be empty")
    tls = table.flag("tls", False)
    if tls and url:
        table.problem("tls", "a URL says TLS with rediss://; tls is for sentinels")
    return RedisSettings(
        sentinels=sentinels,
        service=service,
        username=table.text("username", "") or "",
        password=_secret(table, "password"),
        sentinel_username=table.text("sentinel_username", "") or "",
        sentinel_password=_secret(table, "sentinel_password"),
        tls=tls,
        tls_ca_file=_file(table, "tls_ca_file"),
        tls_cert_file=_file(table, "tls_cert_file"),
        tls_key_file=_file(table, "tls_key_file"),
        # with sentinels a failover must not lose what the old primary acknowledged
        wait_replicas=table.integer("wait_replicas", 1 if sentinels else 0),
        wait_timeout=table.duration("wait_timeout", "1s", positive=True),
    )


def _sentinel(table: Table, text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        table.problem("sentinels", f'expected "host:port" entries, got {text!r}')
        return "", 0
    return host.strip("[]"), int(port)


def _secret(table: Table, name: str) -> Secret | None:
    """None when neither `name` nor `name_env` is given (nothing to hide, nothing to send)."""
    found = table.secret(name, required=False)
    return found if found else None


def _file(table: Table, name: str) -> str:
    path = table.text(name, "") or ""
    if path and not os.path.isfile(path):
        table.problem(name, f"no such file: {path}")
    return path
