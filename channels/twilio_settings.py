"""[channels.twilio]: the account, its auth token (signatures and outbound) and the API base."""

from __future__ import annotations

from dataclasses import dataclass

from channels.settings import Secret, Table

DEFAULT_SAY = "Nobody can take your call right now. Please leave a message after the tone."


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: Secret
    api_base: str  # no trailing slash; tests point it at a loopback server
    voicemail_say: str = DEFAULT_SAY  # spoken before recording when nobody can take a call
    voicemail_language: str = "en-US"  # <Say language>
    status_callback: bool = False  # outbound SMS ask for /hooks/twilio/sms/status callbacks


def read(table: Table) -> TwilioSettings | None:
    """None when the section is absent: the channel is off."""
    if not table.present:
        return None
    settings = TwilioSettings(
        account_sid=table.text("account_sid", required=True) or "",
        auth_token=table.secret("auth_token"),
        api_base=table.url("api_base", "https://api.twilio.com", base=True),
        voicemail_say=table.text("voicemail_say", DEFAULT_SAY) or DEFAULT_SAY,
        voicemail_language=table.text("voicemail_language", "en-US") or "en-US",
        status_callback=table.flag("status_callback", False),
    )
    table.close()
    return settings
