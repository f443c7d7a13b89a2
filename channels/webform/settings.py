"""[channels.webform]: the forms, each posting to `/forms/<id>` and routed to a service."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from channels.settings import Table


@dataclass(frozen=True)
class Form:
    id: str
    service: str
    redirect: str


@dataclass(frozen=True)
class WebformSettings:
    forms: dict[str, Form]


def read(table: Table, services: Collection[str]) -> WebformSettings | None:
    """None when the section is absent: the channel is off. `services` are the known ids."""
    if not table.present:
        return None
    forms: dict[str, Form] = {}
    for entry in table.tables("forms"):
        form = Form(
            id=entry.identifier(),
            service=entry.reference("service", services, "service", required=True) or "",
            redirect=entry.text("redirect", required=True) or "",
        )
        if form.id in forms:
            entry.problem("id", f"duplicate form id {form.id!r}")
        elif form.id:
            forms[form.id] = form
        entry.close()
    table.close()
    return WebformSettings(forms)
