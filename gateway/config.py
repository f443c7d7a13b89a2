"""Typed configuration: `config.toml` parsed once into frozen dataclasses.

Every problem is reported as `config.toml: <dotted.key>: <what is wrong>` (see `ConfigError`).
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import phonenumbers

from gateway.errors import ConfigError
from routing.constants import CHANNELS as CHANNELS  # re-exported; the Lua library shares it

PRESENCES = ("available", "away", "offline")


@dataclass(frozen=True)
class Capacity:
    total: int
    per_channel: dict[str, int]  # every name in CHANNELS is present


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    token: str
    email: str
    phone: str  # E.164, or "" when absent
    capacity: Capacity


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    operators: tuple[str, ...]
    sticky_owner: bool
    ack: bool


@dataclass(frozen=True)
class Rule:
    index: int  # position in [[rules]], used by explain ("rules[2]")
    channel: str | None
    to: str | None  # E.164 when it parses as a number, else lower-cased mailbox
    from_: str | None
    subject: re.Pattern[str] | None
    text: re.Pattern[str] | None
    form: str | None
    fields: dict[str, str]  # field.<name> -> expected value
    service: str | None
    type: str | None
    priority: int | None


@dataclass(frozen=True)
class Sla:
    reaction: float  # seconds
    resolution: float


@dataclass(frozen=True)
class ImapBox:
    host: str
    port: int
    tls: bool
    user: str
    password: str
    folder: str
    poll_interval: float
    processed_folder: str


@dataclass(frozen=True)
class SmtpOut:
    host: str
    port: int
    from_: str


@dataclass(frozen=True)
class EmailChannel:
    domains: tuple[str, ...]
    max_message_bytes: int
    imap: tuple[ImapBox, ...]
    smtp_out: SmtpOut | None


@dataclass(frozen=True)
class Form:
    id: str
    service: str
    redirect: str


@dataclass(frozen=True)
class Channels:
    email: EmailChannel
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_api_base: str
    phone_secret: str
    mango_api_key: str
    mango_api_salt: str
    sms_secret: str
    sms_outbound_url: str
    forms: dict[str, Form]


@dataclass(frozen=True)
class Config:
    path: str
    http: tuple[str, int]
    smtp: tuple[str, int]
    public_url: str
    default_region: str
    admin_token: str
    processes: int
    workers: int
    redis_url: str
    redis_data_dir: str
    subject_tag: str  # contains "{id}"
    reopen_within: float  # seconds
    types: dict[str, int]  # type -> priority
    default_type: str
    sla: dict[int, Sla]  # priority -> deadlines
    operators: dict[str, Operator]
    services: dict[str, Service]
    rules: tuple[Rule, ...]
    default_service: str
    offer_timeout: dict[str, float]  # channel -> seconds
    channels: Channels
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    version: str = ""  # sha256 of the file's bytes, first 12 hex digits


SECRET_KEYS = frozenset(
    {"token", "admin_token", "password", "secret", "auth_token", "api_key", "api_salt"}
)
DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024
REDIS_URL_ENV = "INTAKE_REDIS_URL"
CONFIG_ENV = "INTAKE_CONFIG"

_ID = re.compile(r"[a-z0-9_-]+")
_DURATION = re.compile(r"(\d+)([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_RESULT_KEYS = ("service", "type", "priority")


def load_config(path: str | None = None, env: Mapping[str, str] = os.environ) -> Config:
    """Read and validate the config file; `ConfigError` carries every problem found, not the first.

    Lookup: `path`, else `$INTAKE_CONFIG`, else `./config.toml`. `$INTAKE_REDIS_URL` overrides
    `[redis].url`; `*_env` keys name variables in `env`.
    """
    file_path = path or env.get(CONFIG_ENV) or "config.toml"
    problems = _Problems(os.path.basename(file_path))
    data, raw = _read(file_path, problems)
    if problems.lines:
        raise ConfigError(problems.lines)
    root = _Table(raw, "", problems, env, present=True)
    config = _build(root, os.path.abspath(file_path), hashlib.sha256(data).hexdigest()[:12])
    root.close()
    if problems.lines:
        raise ConfigError(problems.lines)
    return config


def parse_duration(text: str | int) -> float:
    """Seconds in "90s", "15m", "4h", "2d" or a plain whole number of seconds."""
    if isinstance(text, int) and not isinstance(text, bool) and text >= 0:
        return float(text)
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f'expected a duration like "90s", "15m", "4h" or "2d", got {text!r}')
    return float(int(match[1]) * _UNITS[match[2]])


def redacted(config: Config) -> dict[str, Any]:
    """The file as parsed with every secret shown as "***" (for GET /api/admin/config)."""
    return {key: _redact(value, key) for key, value in config.raw.items()}


def _redact(value: Any, key: str) -> Any:
    if key in SECRET_KEYS:
        return "***"
    if isinstance(value, dict):
        return {name: _redact(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, "") for item in value]
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


class _Problems:
    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.lines: list[str] = []

    def add(self, key: str, what: str) -> None:
        self.lines.append(f"{self.file_name}: {key}: {what}")


class _Table:
    """One TOML table being read; keys nobody asked for are reported as unknown by `close`."""

    def __init__(
        self,
        data: Mapping[str, Any],
        path: str,
        problems: _Problems,
        env: Mapping[str, str],
        present: bool,
    ) -> None:
        self.data = data
        self.path = path
        self.problems = problems
        self.env = env
        self.present = present  # False for an absent optional section: its keys are not needed
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def problem(self, name: str, what: str) -> None:
        self.problems.add(self.key(name), what)

    def has(self, name: str) -> bool:
        return name in self.data

    def close(self) -> None:
        for name in self.data:
            if name not in self.used:
                self.problem(name, "unknown key")

    def entries(self) -> list[tuple[str, Any]]:
        self.used.update(self.data)
        return list(self.data.items())

    def child(self, data: Mapping[str, Any], path: str, present: bool = True) -> _Table:
        return _Table(data, path, self.problems, self.env, present)

    def get(self, name: str, kind: type | tuple[type, ...], expected: str, required: bool) -> Any:
        """The value if present and of `kind`; None when absent or wrong (wrong is reported)."""
        self.used.add(name)
        if name not in self.data:
            if required:
                self.problem(name, "missing")
            return None
        value = self.data[name]
        if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            return value
        self.problem(name, f"expected {expected}, got {_kind_of(value)}")
        return None

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.get(name, str, "a string", required)
        if isinstance(value, str):
            return value
        return default if name not in self.data else None

    def integer(
        self, name: str, default: int = 0, *, required: bool = False, minimum: int = 0
    ) -> int:
        value = self.get(name, int, "an integer", required)
        if not isinstance(value, int):
            return default
        if value < minimum:
            self.problem(name, f"must be at least {minimum}, got {value}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.get(name, bool, "true or false", False)
        return value if isinstance(value, bool) else default

    def strings(self, name: str, *, required: bool = False) -> list[str]:
        value = self.get(name, list, "a list of strings", required)
        if not isinstance(value, list):
            return []
        if not all(isinstance(item, str) for item in value):
            self.problem(name, "expected a list of strings")
            return []
        return [str(item) for item in value]

    def duration(self, name: str, default: str | None = None, *, positive: bool = False) -> float:
        value = self.get(name, (str, int), 'a duration like "15m"', default is None)
        if value is None:
            value = default if name not in self.data else None
        if value is None:
            return 0.0
        try:
            seconds = parse_duration(value)
        except ValueError as error:
            self.problem(name, str(error))
            return 0.0
        if positive and seconds <= 0:
            self.problem(name, "must be longer than zero")
        return seconds

    def table(self, name: str) -> _Table:
        value = self.get(name, dict, "a table", False)
        return self.child(value or {}, self.key(name), present=isinstance(value, dict))

    def tables(self, name: str) -> list[_Table]:
        value = self.get(name, list, f"an array of tables ([[{self.key(name)}]])", False)
        result = []
        for index, item in enumerate(value or []):
            path = f"{self.key(name)}[{index}]"
            if isinstance(item, dict):
                result.append(self.child(item, path))
            else:
                self.problems.add(path, f"expected a table, got {_kind_of(item)}")
        return result

    def secret(self, name: str, *, required: bool = True) -> str:
        """`name` given inline, or `name_env` naming an environment variable: exactly one."""
        env_name = f"{name}_env"
        self.used.update((name, env_name))
        if self.has(name) and self.has(env_name):
            self.problem(name, f"give either {name} or {env_name}, not both")
            return ""
        if self.has(env_name):
            return self._from_env(env_name)
        if not self.has(name):
            if required:
                self.problem(name, f"missing (or set {env_name})")
            return ""
        value = self.text(name)
        if value == "":
            self.problem(name, "must not be empty")
        return value or ""

    def _from_env(self, env_name: str) -> str:
        variable = self.text(env_name)
        if variable is None:
            return ""
        value = self.env.get(variable, "")
        if not value:
            self.problem(env_name, f"environment variable {variable} is not set")
        return value


def _kind_of(value: object) -> str:
    kinds = {bool: "a boolean", int: "an integer", float: "a float", str: "a string"}
    kinds.update({list: "an array", dict: "a table"})
    return kinds.get(type(value), type(value).__name__)


def _read(path: str, problems: _Problems) -> tuple[bytes, dict[str, Any]]:
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        problems.add("<file>", f"cannot read {path}: {error.strerror or error}")
        return b"", {}
    try:
        return data, tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        problems.add("<syntax>", f"not UTF-8 text ({error.reason} at byte {error.start})")
    except tomllib.TOMLDecodeError as error:
        problems.add("<syntax>", str(error))
    return data, {}


@dataclass(frozen=True)
class _Known:
    """What rules and forms may refer to, gathered before they are read."""

    region: str
    services: Mapping[str, Service]
    types: Mapping[str, int]
    forms: Mapping[str, Form]


def _build(root: _Table, path: str, version: str) -> Config:
    gateway = root.table("gateway")
    region = _region(gateway)
    http = _host_port(gateway, "http", "127.0.0.1:8080")
    redis_url, data_dir = _redis(root.table("redis"))
    subject_tag, reopen_within = _cases(root.table("cases"))
    types, default_type = _types(root.table("types"))
    sla = _slas(root.table("sla"))
    admin_token = gateway.secret("admin_token")
    operators = _operators(root.tables("operators"), region, admin_token)
    services = _services(root.tables("services"), operators)
    channels = _channels(root.table("channels"), services)
    rules = _rules(root.tables("rules"), _Known(region, services, types, channels.forms))
    default_service, offer_timeout = _routing(root.table("routing"), services)
    _check_sla_coverage(root.problems, types, rules, sla)
    config = Config(
        path=path,
        http=http,
        smtp=_host_port(gateway, "smtp", "127.0.0.1:2525"),
        public_url=_url(gateway, "public_url", f"http://{_join(http)}", base=True),
        default_region=region,
        admin_token=admin_token,
        processes=_processes(gateway),
        workers=gateway.integer("workers", 1),
        redis_url=redis_url,
        redis_data_dir=data_dir,
        subject_tag=subject_tag,
        reopen_within=reopen_within,
        types=types,
        default_type=default_type,
        sla=sla,
        operators=operators,
        services=services,
        rules=rules,
        default_service=default_service,
        offer_timeout=offer_timeout,
        channels=channels,
        raw=dict(root.data),
        version=version,
    )
    gateway.close()
    return config


def _region(gateway: _Table) -> str:
    region = gateway.text("default_region", required=True)
    if region is None:
        return ""
    if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        gateway.problem("default_region", f'unknown phone region {region!r}; use a code like "RU"')
        return ""
    return region.upper()


def _host_port(table: _Table, name: str, default: str) -> tuple[str, int]:
    text = table.text(name, default)
    if text is None:
        return ("127.0.0.1", 0)
    host, colon, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # IPv6 literal
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        table.problem(name, f'expected "HOST:PORT", got {text!r}')
        return ("127.0.0.1", 0)
    return (host, int(port))


def _join(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _url(table: _Table, name: str, default: str, *, base: bool = False) -> str:
    text = table.text(name, default)
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        table.problem(name, f"expected an http:// or https:// URL, got {text!r}")
    # Base URLs get paths appended (Twilio signs the full URL), so one slash, not two.
    return text.rstrip("/") if base else text


def _processes(gateway: _Table) -> int:
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


def _redis(table: _Table) -> tuple[str, str]:
    url = table.text("url", "") or ""
    override = table.env.get(REDIS_URL_ENV, "")
    source = f"{REDIS_URL_ENV} " if override else ""
    url = override or url
    # The URL may carry a password, so the problem line does not repeat it.
    if url and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        table.problem("url", f"{source}expected a redis://, rediss:// or unix:// URL")
    data_dir = table.text("data_dir", "var/redis") or "var/redis"
    table.close()
    return url, data_dir


def _cases(table: _Table) -> tuple[str, float]:
    tag = table.text("subject_tag", "[Case #{id}]")
    if tag is not None and "{id}" not in tag:
        table.problem("subject_tag", 'must contain "{id}"')
    elif tag is not None:
        try:
            tag.format(id=1)
        except (KeyError, IndexError, ValueError):
            table.problem("subject_tag", 'must have no placeholder but "{id}" (write {{ for {)')
    reopen_within = table.duration("reopen_within", "7d")
    table.close()
    return tag or "[Case #{id}]", reopen_within


def _types(table: _Table) -> tuple[dict[str, int], str]:
    default = table.text("default", required=True)
    types: dict[str, int] = {}
    for name, value in table.entries():
        if name == "default":
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            types[name] = value
        else:
            table.problem(name, f"expected a priority (a whole number >= 1), got {value!r}")
    if default is not None and default not in types:
        table.problem("default", f"unknown type {default!r}")
    return types, default or ""


def _slas(table: _Table) -> dict[int, Sla]:
    slas: dict[int, Sla] = {}
    for name, value in table.entries():
        if not name.isdigit() or int(name) < 1:
            table.problem(name, "expected a priority (a whole number >= 1), like [sla.1]")
        elif not isinstance(value, dict):
            table.problem(name, f"expected a table, got {_kind_of(value)}")
        else:
            entry = table.child(value, table.key(name))
            reaction = entry.duration("reaction", positive=True)
            sla = Sla(reaction, entry.duration("resolution", positive=True))
            if sla.reaction > sla.resolution > 0:
                entry.problem("reaction", "is longer than resolution")
            entry.close()
            slas[int(name)] = sla
    return slas


def _check_sla_coverage(
    problems: _Problems, types: Mapping[str, int], rules: tuple[Rule, ...], sla: Mapping[int, Sla]
) -> None:
    for name, priority in types.items():
        if priority not in sla:
            problems.add(f"types.{name}", f"priority {priority} has no [sla.{priority}]")
    for rule in rules:
        if rule.priority and rule.priority not in sla:
            priority = rule.priority
            problems.add(
                f"rules[{rule.index}].priority", f"priority {priority} has no [sla.{priority}]"
            )


def _identifier(table: _Table, name: str = "id") -> str:
    value = table.text(name, required=True)
    if value is not None and not _ID.fullmatch(value):
        table.problem(name, f"{value!r} must match [a-z0-9_-]+")
    return value or ""


def _reference(
    table: _Table, name: str, known: Mapping[str, object], what: str, *, required: bool = False
) -> str | None:
    value = table.text(name, required=required)
    if value is not None and value not in known:
        table.problem(name, f"unknown {what} {value!r}")
    return value


def _parse_phone(text: str, region: str) -> str | None:
    # Same rule as channels.phones.normalize: a *possible* number is accepted and stored E.164.
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _operators(tables: list[_Table], region: str, admin_token: str) -> dict[str, Operator]:
    operators: dict[str, Operator] = {}
    owners = {admin_token: "the admin"} if admin_token else {}
    for table in tables:
        operator = _operator(table, region)
        if operator.id in operators:
            table.problem("id", f"duplicate operator id {operator.id!r}")
        elif operator.id:
            operators[operator.id] = operator
        # A shared token would let one person act as another (or as the admin).
        if operator.token in owners:
            table.problem("token", f"same token as {owners[operator.token]}")
        elif operator.token:
            owners[operator.token] = f"operator {operator.id!r}"
    return operators


def _operator(table: _Table, region: str) -> Operator:
    operator_id = _identifier(table)
    email = table.text("email", "") or ""
    if email and "@" not in email:
        table.problem("email", f"{email!r} is not an e-mail address")
    operator = Operator(
        id=operator_id,
        name=table.text("name", operator_id) or operator_id,
        token=table.secret("token"),
        email=email.lower(),
        phone=_phone(table, region),
        capacity=_capacity(table),
    )
    table.close()
    return operator


def _phone(table: _Table, region: str) -> str:
    text = table.text("phone", "") or ""
    if not text:
        return ""
    number = _parse_phone(text, region)
    # Without a usable region only international numbers can be judged; the region is reported.
    if number is None and (region or text.lstrip().startswith("+")):
        table.problem("phone", f"{text!r} is not a phone number (in region {region or '?'})")
    return number or text


def _capacity(operator: _Table) -> Capacity:
    if not operator.has("capacity"):
        operator.problem("capacity", "missing")
        operator.used.add("capacity")
        return Capacity(0, dict.fromkeys(CHANNELS, 0))
    table = operator.table("capacity")
    total = table.integer("total", required=table.present)
    per_channel = {channel: table.integer(channel, total) for channel in CHANNELS}
    table.close()
    return Capacity(total, per_channel)


def _services(tables: list[_Table], operators: Mapping[str, Operator]) -> dict[str, Service]:
    services: dict[str, Service] = {}
    for table in tables:
        service = _service(table, operators)
        if service.id in services:
            table.problem("id", f"duplicate service id {service.id!r}")
        elif service.id:
            services[service.id] = service
    return services


def _service(table: _Table, operators: Mapping[str, Operator]) -> Service:
    service_id = _identifier(table)
    members = table.strings("operators", required=True)
    for index, member in enumerate(members):
        key = f"{table.key('operators')}[{index}]"
        if member not in operators:
            table.problems.add(key, f"unknown operator {member!r}")
        elif member in members[:index]:
            table.problems.add(key, f"operator {member!r} is listed twice")
    service = Service(
        id=service_id,
        name=table.text("name", service_id) or service_id,
        operators=tuple(members),
        sticky_owner=table.flag("sticky_owner", False),
        ack=table.flag("ack", False),
    )
    table.close()
    return service


def _rules(tables: list[_Table], known: _Known) -> tuple[Rule, ...]:
    return tuple(_rule(index, table, known) for index, table in enumerate(tables))


def _rule(index: int, table: _Table, known: _Known) -> Rule:
    when = table.table("when")
    rule = Rule(
        index=index,
        channel=_choice(when, "channel", CHANNELS),
        to=_mailbox_or_number(when.text("to"), known.region),
        from_=_mailbox_or_number(when.text("from"), known.region),
        subject=_regex(when, "subject"),
        text=_regex(when, "text"),
        form=_reference(when, "form", known.forms, "form"),
        fields=_fields(when),
        service=_reference(table, "service", known.services, "service"),
        type=_reference(table, "type", known.types, "type"),
        priority=table.integer("priority", minimum=1) if table.has("priority") else None,
    )
    when.close()
    if not any(table.has(key) for key in _RESULT_KEYS):
        table.problems.add(table.path, "needs at least one result: service, type or priority")
    table.close()
    return rule


def _choice(table: _Table, name: str, options: tuple[str, ...]) -> str | None:
    value = table.text(name)
    if value is not None and value not in options:
        table.problem(name, f"expected one of {', '.join(options)}; got {value!r}")
    return value


def _mailbox_or_number(value: str | None, region: str) -> str | None:
    if value is None:
        return None
    if "@" in value:
        return value.strip().lower()
    return _parse_phone(value, region) or value.strip().lower()


def _regex(table: _Table, name: str) -> re.Pattern[str] | None:
    source = table.text(name)
    if source is None:
        return None
    try:
        return re.compile(source)
    except re.error as error:
        table.problem(name, f"invalid regular expression: {error}")
        return None


def _fields(when: _Table) -> dict[str, str]:
    """`field.<name>` conditions, written as quoted keys or as a nested `field` table."""
    found = [(name, name.removeprefix("field."), value) for name, value in when.data.items()]
    found = [item for item in found if item[0].startswith("field.")]
    when.used.update(name for name, _, _ in found)
    if when.has("field"):
        nested = when.table("field")
        found += [(f"field.{name}", name, value) for name, value in nested.entries()]
    fields: dict[str, str] = {}
    for key, name, value in found:
        if isinstance(value, str):
            fields[name] = value
        else:
            when.problem(key, f"expected a string, got {_kind_of(value)}")
    return fields


def _routing(table: _Table, services: Mapping[str, Service]) -> tuple[str, dict[str, float]]:
    default = _reference(table, "default_service", services, "service", required=True)
    offers = table.table("offer_timeout")
    timeouts: dict[str, float] = {}
    for channel, _ in offers.entries():
        if channel not in CHANNELS:
            offers.problem(channel, f"unknown channel; expected one of {', '.join(CHANNELS)}")
        else:
            timeouts[channel] = offers.duration(channel, positive=True)
    table.close()
    return default or "", timeouts


def _channels(table: _Table, services: Mapping[str, Service]) -> Channels:
    twilio, phone, mango, sms = (table.table(name) for name in ("twilio", "phone", "mango", "sms"))
    channels = Channels(
        email=_email(table.table("email")),
        twilio_account_sid=twilio.text("account_sid", "", required=twilio.present) or "",
        twilio_auth_token=twilio.secret("auth_token", required=twilio.present),
        twilio_api_base=_url(twilio, "api_base", "https://api.twilio.com", base=True),
        phone_secret=phone.secret("secret", required=phone.present),
        mango_api_key=mango.secret("api_key", required=mango.present),
        mango_api_salt=mango.secret("api_salt", required=mango.present),
        sms_secret=sms.secret("secret", required=sms.present),
        sms_outbound_url=_url(sms, "outbound_url", ""),
        forms=_forms(table.table("webform"), services),
    )
    for section in (table, twilio, phone, mango, sms):
        section.close()
    return channels


def _email(table: _Table) -> EmailChannel:
    smtp_out = table.table("smtp_out")
    channel = EmailChannel(
        domains=tuple(domain.lower() for domain in table.strings("domains")),
        max_message_bytes=table.integer("max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES, minimum=1),
        imap=tuple(_imap(box) for box in table.tables("imap")),
        smtp_out=_smtp_out(smtp_out) if smtp_out.present else None,
    )
    table.close()
    return channel


def _imap(table: _Table) -> ImapBox:
    tls = table.flag("tls", True)
    box = ImapBox(
        host=table.text("host", required=True) or "",
        port=_port(table, 993 if tls else 143),
        tls=tls,
        user=table.text("user", required=True) or "",
        password=table.secret("password"),
        folder=table.text("folder", "INBOX") or "INBOX",
        poll_interval=table.duration("poll_interval", "30s", positive=True),
        processed_folder=table.text("processed_folder", "") or "",
    )
    table.close()
    return box


def _smtp_out(table: _Table) -> SmtpOut:
    sender = table.text("from", required=True) or ""
    if sender and "@" not in sender:
        table.problem("from", f"{sender!r} is not an e-mail address")
    out = SmtpOut(host=table.text("host", required=True) or "", port=_port(table, 25), from_=sender)
    table.close()
    return out


def _port(table: _Table, default: int) -> int:
    port = table.integer("port", default, minimum=1)
    if port > 65535:
        table.problem("port", f"must be at most 65535, got {port}")
    return port


def _forms(table: _Table, services: Mapping[str, Service]) -> dict[str, Form]:
    forms: dict[str, Form] = {}
    for entry in table.tables("forms"):
        form = Form(
            id=_identifier(entry),
            service=_reference(entry, "service", services, "service", required=True) or "",
            redirect=entry.text("redirect", required=True) or "",
        )
        if form.id in forms:
            entry.problem("id", f"duplicate form id {form.id!r}")
        elif form.id:
            forms[form.id] = form
        entry.close()
    table.close()
    return forms
