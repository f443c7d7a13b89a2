"""The whole `config.toml`: the gateway's own sections ([gateway], [redis], [cases]) composed
with the sections routing/ and each channel declare, into one frozen `Config`.

Every problem is reported as `config.toml: <dotted.key>: <what is wrong>` (see `ConfigError`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from channels import registry
from channels.base import Known
from channels.chat_settings import ChatSettings
from channels.email_settings import EmailSettings
from channels.errors import ConfigError
from channels.mango_settings import MangoSettings
from channels.phone_settings import PhoneSettings
from channels.phones import is_region
from channels.settings import Problems, Secret, Table, read_toml
from channels.sms.settings import SmsSettings
from channels.twilio_settings import TwilioSettings
from channels.webform.settings import WebformSettings
from gateway.limits import settings as limit_settings
from gateway.limits.settings import LimitSettings
from gateway.redis_settings import RedisSettings, read_redis
from gateway.telemetry import settings as telemetry_settings
from gateway.telemetry.settings import Telemetry
from routing import settings as routing_settings
from routing.settings import RoutingSettings

# the embedded Valkey's appendfsync: "always" fsyncs a write before it is acknowledged,
# "everysec" within about a second (a crash of the host can lose that second)
DURABILITIES = ("always", "everysec")


@dataclass(frozen=True)
class Channels:
    """One entry per channel; None when its section is absent, which turns the channel off."""

    email: EmailSettings | None
    twilio: TwilioSettings | None
    phone: PhoneSettings | None
    mango: MangoSettings | None
    sms: SmsSettings | None
    webform: WebformSettings | None
    chat: ChatSettings | None = None


@dataclass(frozen=True)
class Config:
    path: str
    http: tuple[str, int]
    smtp: tuple[str, int]
    public_url: str
    default_region: str
    admin_token: Secret
    processes: int
    workers: int
    redis_url: str = field(repr=False)  # may carry a password
    redis_data_dir: str
    redis_durability: str
    subject_tag: str  # contains "{id}"
    reopen_within: float  # seconds
    routing: RoutingSettings
    channels: Channels
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    version: str = ""  # sha256 of the file's bytes, first 12 hex digits
    secret_keys: frozenset[str] = frozenset()  # dotted keys read as secrets, hidden by `redacted`
    blobs_dir: str = "var/blobs"  # [storage]: attachment bytes, relative to the working directory
    edit_window: float = 300.0  # [cases]: seconds after resolve an operator may still edit
    merge_within: float = 0.0  # [cases]: a manual case duplicating an open one this new: 409
    limits: LimitSettings = field(default_factory=LimitSettings)  # [limits]
    redis: RedisSettings = field(default_factory=RedisSettings)  # Sentinel, ACL user, TLS
    telemetry: Telemetry = field(default_factory=Telemetry)  # [logging] and [metrics]


REDIS_URL_ENV = "INTAKE_REDIS_URL"
CONFIG_ENV = "INTAKE_CONFIG"


def load_config(path: str | None = None, env: Mapping[str, str] = os.environ) -> Config:
    """Read and validate the config file; `ConfigError` carries every problem found, not the first.

    Lookup: `path`, else `$INTAKE_CONFIG`, else `./config.toml`. `$INTAKE_REDIS_URL` overrides
    `[redis].url`; `*_env` keys name variables in `env`.
    """
    file_path = path or env.get(CONFIG_ENV) or "config.toml"
    problems = Problems(os.path.basename(file_path))
    data, raw = read_toml(file_path, problems)
    if problems.lines:
        raise ConfigError(problems.lines)
    root = Table(raw, "", problems, env, present=True)
    config = _build(root, os.path.abspath(file_path), hashlib.sha256(data).hexdigest()[:12])
    root.close()
    if problems.lines:
        raise ConfigError(problems.lines)
    return config


def redacted(config: Config) -> dict[str, Any]:
    """The file as parsed with every secret shown as "***" (for GET /api/admin/config)."""
    return {key: _redact(value, key, config.secret_keys) for key, value in config.raw.items()}


def _redact(value: Any, key: str, secret_keys: frozenset[str]) -> Any:
    """`key` is the dotted key of `value` as the reader names it ("operators[0].token")."""
    if key in secret_keys:
        return "***"
    if isinstance(value, dict):
        return {name: _redact(item, f"{key}.{name}", secret_keys) for name, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, f"{key}[{index}]", secret_keys) for index, item in enumerate(value)]
    if isinstance(value, str) and "://" in value:
        return _hide_url_password(value)
    return value


def _hide_url_password(text: str) -> str:
    # redis://:secret@host URLs carry a password that the admin API must not show.
    try:
        parts = urlsplit(text)
        if parts.password is None:
            return text
    except ValueError:
        return text
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _build(root: Table, path: str, version: str) -> Config:
    gateway = root.table("gateway")
    region = _region(gateway)
    http = gateway.host_port("http", "127.0.0.1:8080")
    redis_url, data_dir, durability, redis = _redis(root.table("redis"))
    subject_tag, reopen_within, edit_window, merge_within = _cases(root.table("cases"))
    admin_token = gateway.secret("admin_token")
    routing = routing_settings.read(root, region, admin_token)
    channels = _channels(root.table("channels"), routing)
    config = Config(
        path=path,
        http=http,
        smtp=gateway.host_port("smtp", "127.0.0.1:2525"),
        public_url=gateway.url("public_url", f"http://{_join(http)}", base=True),
        default_region=region,
        admin_token=admin_token,
        processes=_processes(gateway),
        workers=gateway.integer("workers", 1),
        redis_url=redis_url,
        redis_data_dir=data_dir,
        redis_durability=durability,
        subject_tag=subject_tag,
        reopen_within=reopen_within,
        routing=routing,
        channels=channels,
        raw=dict(root.data),
        version=version,
        secret_keys=frozenset(root.secret_keys),  # every section has been read by now
        blobs_dir=_storage(root.table("storage")),
        edit_window=edit_window,
        merge_within=merge_within,
        limits=limit_settings.read(root.table("limits")),
        redis=redis,
        telemetry=telemetry_settings.read(root),
    )
    gateway.close()
    return config


def _region(gateway: Table) -> str:
    region = gateway.text("default_region", required=True)
    if region is None:
        return ""
    if not is_region(region.upper()):
        gateway.problem("default_region", f'unknown phone region {region!r}; use a code like "RU"')
        return ""
    return region.upper()


def _join(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _processes(gateway: Table) -> int:
    value = gateway.get("processes", (int, str), 'a whole number or "auto"', False)
    if value is None and not gateway.has("processes"):
        return 1
    if value == "auto":
        return os.cpu_count() or 1
    if isinstance(value, int) and value >= 1:
        return value
    if value is not None:
        gateway.problem("processes", f'expected a whole number >= 1 or "auto", got {value!r}')
    return 1


def _redis(table: Table) -> tuple[str, str, str, RedisSettings]:
    url = table.text("url", "") or ""
    override = table.env.get(REDIS_URL_ENV, "")
    source = f"{REDIS_URL_ENV} " if override else ""
    url = override or url
    # The URL may carry a password, so the problem line does not repeat it.
    if url and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        table.problem("url", f"{source}expected a redis://, rediss:// or unix:// URL")
    data_dir = table.text("data_dir", "var/redis") or "var/redis"
    durability = table.choice("durability", DURABILITIES) or "always"
    settings = read_redis(table, url)
    table.close()
    return url, data_dir, durability, settings


def _storage(table: Table) -> str:
    blobs_dir = table.text("blobs_dir", "var/blobs") or "var/blobs"
    table.close()
    return blobs_dir


def _cases(table: Table) -> tuple[str, float, float, float]:
    tag = table.text("subject_tag", "[Case #{id}]")
    if tag is not None and "{id}" not in tag:
        table.problem("subject_tag", 'must contain "{id}"')
    elif tag is not None:
        try:
            tag.format(id=1)
        except (KeyError, IndexError, ValueError):
            table.problem("subject_tag", 'must have no placeholder but "{id}" (write {{ for {)')
    reopen_within = table.duration("reopen_within", "7d")
    edit_window = table.duration("edit_window", "5m")
    merge_within = table.duration("merge_within", "0s")
    table.close()
    return tag or "[Case #{id}]", reopen_within, edit_window, merge_within


def _channels(table: Table, routing: RoutingSettings) -> Channels:
    known = Known(routing.services, routing.operators)
    sections = {c.name: c.read(table.table(c.name), known) for c in registry.CHANNELS}
    channels = Channels(**sections)
    forms = channels.webform.forms if channels.webform else {}
    routing_settings.check_forms(table.problems, routing, forms)
    table.close()
    return channels
