"""The adapter contract: a `Delivery` (what arrived, whatever carried it) in, an `Outcome` out.

An adapter is a pure function `(Delivery, its settings or None, default region) -> Outcome`:
an `InboundMessage` to store, `Ignored` (accepted, store nothing), or a raised member of the
error family (channels.errors, channels.rejection). A `Channel` (the registry's entry) names its
settings reader, its `Hook`s (adapter, answer, body limit) and, later, its sender.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from channels import fastjson
from channels.errors import UnsupportedMedia
from channels.message import InboundMessage
from channels.settings import Table

DEFAULT_MEDIA_TYPE = "application/octet-stream"  # RFC 9110 §8.3: what an untyped body is


def media_type(content_type: str) -> str:
    """The lower-cased `type/subtype` of a Content-Type value; octet-stream when it has none."""
    kind = content_type.partition(";")[0].strip().lower()
    return kind if kind.count("/") == 1 else DEFAULT_MEDIA_TYPE


def type_params(content_type: str) -> dict[str, str]:
    """A Content-Type's parameters, names lower-cased, the first of each kept (aiohttp's rule).

    Not the `email` package's parser: that builds a class per header (cyclic garbage) and
    browsers send a new multipart boundary with every post."""
    params: dict[str, str] = {}
    for item in content_type.split(";")[1:]:
        name, _, value = item.partition("=")
        if name.strip():
            params.setdefault(name.strip().lower(), value.strip(' "'))
    return params


def require_type(kind: str, *allowed: str) -> str:
    """`kind` (a media type) when it is one of `allowed`; else 415."""
    if kind not in allowed:
        raise UnsupportedMedia(f"Content-Type must be {' or '.join(allowed)}, not {kind}.")
    return kind


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request to a channel: headers, the raw body and where it came."""

    headers: Mapping[str, str]  # case-insensitive (aiohttp's CIMultiDictProxy at the HTTP edge)
    body: bytes
    path: str = "/"  # raw, as sent (percent-escapes kept)
    query: str = ""  # raw, without the "?"
    remote: str = ""
    route: Mapping[str, str] = field(default_factory=dict)  # path parameters, e.g. form_id
    public_url: str = ""  # [gateway].public_url: where providers were told to send this

    @property
    def content_type(self) -> str:
        return media_type(self.headers.get("Content-Type", ""))

    @property
    def type_params(self) -> dict[str, str]:
        return type_params(self.headers.get("Content-Type", ""))

    @property
    def url(self) -> str:
        """The URL the provider called (what its signature covers), not the one behind a proxy."""
        target = self.path + (f"?{self.query}" if self.query else "")
        return self.public_url.rstrip("/") + target


@dataclass(frozen=True, slots=True)
class Ignored:
    """Accepted and answered as a success, but nothing is stored (e.g. a bot's form post)."""

    reason: str


Outcome = InboundMessage | Ignored


class Stored(Protocol):
    """What the intake answers for a stored message (gateway.intake.IntakeResult)."""

    @property
    def case_id(self) -> int: ...

    @property
    def contact_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer a provider gets on success; errors are mapped by each edge instead."""

    status: int
    body: bytes
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: object, status: int = 200) -> Reply:
        return cls(status, fastjson.dumps(value).encode(), "application/json")


S = TypeVar("S")
Adapter = Callable[[Delivery, S | None, str], Outcome]
Answer = Callable[[Delivery, S | None, Stored | None], Reply]  # None: nothing was stored


@dataclass(frozen=True)
class Known:
    """What a section may refer to, read before the channels: service and operator ids."""

    services: Collection[str]
    operators: Collection[str]


Reader = Callable[[Table, Known], S | None]  # the section and what it may refer to
Sender = Callable[[S, Mapping[str, object]], Awaitable[None]]  # (its settings, an outbox entry)


def section(read: Callable[[Table], S | None]) -> Reader[S]:
    """A reader of a section that needs nothing but its table."""

    def reader(table: Table, known: Known) -> S | None:
        return read(table)

    return reader


@dataclass(frozen=True)
class Hook(Generic[S]):
    """One HTTP endpoint a channel serves; the edge reads at most `max_body` bytes (else 413)."""

    method: str
    path: str  # an aiohttp route pattern; `{name}` parts arrive in `Delivery.route`
    parse: Adapter[S]
    answer: Answer[S]
    max_body: int


@dataclass(frozen=True)
class Channel(Generic[S]):
    """A registry entry: `name` is its section [channels.<name>] and its `Channels` attribute.

    A channel whose section is absent is off: its hooks stay routed (a reload may turn it on)
    and its adapter refuses with the channel's own error (401 webhook_disabled, 404 form_not_found).
    """

    name: str
    read: Reader[S]
    hooks: tuple[Hook[S], ...] = ()
    sender: Sender[S] | None = None  # where the channel sends; built with the outbox
