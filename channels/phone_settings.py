"""[channels.phone]: the generic phone/softphone webhook's HMAC key."""

from __future__ import annotations

from dataclasses import dataclass

from channels.settings import Secret, Table


@dataclass(frozen=True)
class PhoneSettings:
    secret: Secret


def read(table: Table) -> PhoneSettings | None:
    """None when the section is absent: the channel is off."""
    if not table.present:
        return None
    settings = PhoneSettings(table.secret("secret"))
    table.close()
    return settings
