"""What the operator and admin API answer, declared for the OpenAPI document only.

The handlers build these shapes in gateway/views.py and their own modules; the Structs say
which fields every answer has (more may come) so the schemathesis test can hold each response
to the document. Times are RFC 3339 UTC strings, null when unknown.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

Time = str | None


class ErrorDetail(msgspec.Struct, kw_only=True):
    """`field` names the offending field (a dotted JSON path); some errors add their own keys
    (`problems`, `case_id`, `fields`)."""

    code: str
    message: str
    field: str | UnsetType = UNSET


class Error(msgspec.Struct, kw_only=True):
    """Every error: the SPEC §5 body."""

    error: ErrorDetail


class Contact(msgspec.Struct, kw_only=True):
    id: str = ""
    name: str | None = None
    phones: list[str] = []
    emails: list[str] = []
    owner: str | None = None
    category: str | None = None


class Offer(msgspec.Struct, kw_only=True):
    offer_id: str
    operator: str | None
    expires_at: Time


class Sla(msgspec.Struct, kw_only=True):
    reaction_due: Time
    resolution_due: Time
    paused: bool


class Case(msgspec.Struct, kw_only=True):
    """A case; `timeline` only on `GET /api/cases/{id}`."""

    id: int
    status: str | None
    channel: str | None
    service: str | None
    type: str | None
    priority: int | None
    subject: str
    contact: Contact
    assignee: str | None
    offer: Offer | None
    created_at: Time
    accepted_at: Time
    resolved_at: Time
    sla: Sla
    related_case: int | None
    flags: list[str]
    timeline: list[dict[str, Any]] | UnsetType = UNSET


class CasePage(msgspec.Struct, kw_only=True):
    cases: list[Case]
    next_cursor: str | None


class ContactLookup(msgspec.Struct, kw_only=True):
    contact: Contact
    open_cases: list[Case]


class Queued(msgspec.Struct, kw_only=True):
    """A reply recorded: `delivery` is `queued` until a worker sends it (absent for chat)."""

    case_id: int
    entry_id: str
    delivery: str | UnsetType = UNSET


class Operator(msgspec.Struct, kw_only=True):
    id: str
    name: str
    presence: str
    load: dict[str, int]
    capacity: dict[str, int]
    cases: list[Case]


class PresenceSet(msgspec.Struct, kw_only=True):
    id: str
    presence: str


class Named(msgspec.Struct, kw_only=True):
    id: str
    name: str


class Me(msgspec.Struct, kw_only=True):
    operator: str | None
    admin: bool
    operators: list[Named]
    services: list[Named]


class Version(msgspec.Struct, kw_only=True):
    version: str


class RunningConfig(msgspec.Struct, kw_only=True):
    version: str
    config: dict[str, Any]


class Explanation(msgspec.Struct, kw_only=True):
    """With `case_id` asked: also `case_id`, `status` and `assignee` of that case."""

    service: str | None
    type: str | None
    priority: int | None
    rule: str | None
    candidates: list[dict[str, Any]]
    decision: dict[str, Any]


class Queues(msgspec.Struct, kw_only=True):
    services: dict[str, dict[str, Any]]
    operators: dict[str, dict[str, Any]]


class Health(msgspec.Struct, kw_only=True):
    status: str
    pid: int


class SmsStored(msgspec.Struct, kw_only=True):
    case_id: int
    contact_id: str


class FormStored(msgspec.Struct, kw_only=True):
    """`case_id` is null for a submission the honeypot caught."""

    case_id: int | None


class ScreenPop(msgspec.Struct, kw_only=True):
    """The answer to a phone event: `ringing` adds the screen pop (contact, open cases and
    `route_to`)."""

    call_id: str
    case_id: int | None
