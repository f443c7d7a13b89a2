"""One documented route: what it takes, who may call it and what it answers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Auth = Literal["operator", "admin", "intake", "twilio", "none"]
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Media:
    """A body (or answer) that is no declared Struct: a content type and a plain schema."""

    content_type: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    others: tuple[str, ...] = ()  # further content types of the same answer, as text


Schema = type | Media | None  # a msgspec Struct (or Annotated type), other media, or nothing


@dataclass(frozen=True)
class Query:
    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Op:
    """A route of `app.router` as the document shows it. `errors`: statuses it may answer
    beyond what follows from the rest (401 for auth, 404 for a path id, 4xx for a body)."""

    method: str
    path: str
    summary: str
    auth: Auth
    ok: tuple[int, Schema] = (200, None)
    body: Schema = None
    errors: tuple[int, ...] = ()
    query: tuple[Query, ...] = ()
    body_optional: bool = False
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    storage: bool = True  # reads Redis: 503 with Retry-After when it is away

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def tag(self) -> str:
        parts = self.path.strip("/").split("/")
        return parts[1] if parts[0] == "api" and len(parts) > 1 else parts[0]

    def statuses(self) -> list[int]:
        found = {400, *self.errors}  # the HTTP parser's refusals: any route
        if self.auth != "none":
            found.add(401)
        if self.path_params:
            found.add(404)
        if self.body is not None:
            found |= {413, 415, 422}
        if self.storage:
            found.add(503)
        return sorted(found - {self.ok[0]})
