"""[channels.sms]: the generic SMS webhook's HMAC key and where replies are posted."""

from __future__ import annotations

from dataclasses import dataclass

from channels.settings import Secret, Table


@dataclass(frozen=True)
class SmsSettings:
    secret: Secret  # signs X-Intake-Signature both ways
    outbound_url: str


def read(table: Table) -> SmsSettings | None:
    """None when the section is absent: the channel is off."""
    if not table.present:
        return None
    settings = SmsSettings(table.secret("secret"), table.url("outbound_url", ""))
    table.close()
    return settings
