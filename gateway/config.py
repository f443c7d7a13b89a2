"""Typed configuration: `config.toml` parsed once into frozen dataclasses.

Every problem is reported as `config.toml: <dotted.key>: <what is wrong>` (see `ConfigError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

CHANNELS = ("phone", "chat", "email", "sms", "webform")
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
