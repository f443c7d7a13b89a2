"""[channels.mango]: Mango Office's API key and the salt its signatures use."""

from __future__ import annotations

from dataclasses import dataclass

from channels.settings import Secret, Table


@dataclass(frozen=True)
class MangoSettings:
    api_key: Secret
    api_salt: Secret


def read(table: Table) -> MangoSettings | None:
    """None when the section is absent: the channel is off."""
    if not table.present:
        return None
    settings = MangoSettings(table.secret("api_key"), table.secret("api_salt"))
    table.close()
    return settings
