"""[channels.twilio]: the account, its auth token (signatures and outbound) and the API base."""

from __future__ import annotations

from dataclasses import dataclass

from channels.settings import Secret, Table


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: Secret
    api_base: str  # no trailing slash; tests point it at a loopback server


def read(table: Table) -> TwilioSettings | None:
    """None when the section is absent: the channel is off."""
    if not table.present:
        return None
    settings = TwilioSettings(
        account_sid=table.text("account_sid", required=True) or "",
        auth_token=table.secret("auth_token"),
        api_base=table.url("api_base", "https://api.twilio.com", base=True),
    )
    table.close()
    return settings
