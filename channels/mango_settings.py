"""[channels.mango]: Mango Office's API key, the salt its signatures use, and which operator
answers at which extension (Mango names employees by their extension only)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from channels.settings import Secret, Table


@dataclass(frozen=True)
class MangoSettings:
    api_key: Secret
    api_salt: Secret
    extensions: dict[str, str] = field(default_factory=dict)  # extension -> operator id


def read(table: Table, operators: Collection[str] = ()) -> MangoSettings | None:
    """None when the section is absent: the channel is off. `operators` are the known ids."""
    if not table.present:
        return None
    settings = MangoSettings(
        table.secret("api_key"), table.secret("api_salt"), _extensions(table, operators)
    )
    table.close()
    return settings


def _extensions(table: Table, operators: Collection[str]) -> dict[str, str]:
    section = table.table("extensions")
    found: dict[str, str] = {}
    for extension, _ in section.entries():
        operator = section.reference(extension, operators, "operator")
        if operator:
            found[extension] = operator
    return found
