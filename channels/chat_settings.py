"""[channels.chat]: who may embed the widget and the limits a visitor's socket lives under."""

from __future__ import annotations

from dataclasses import dataclass

from channels.settings import Table


@dataclass(frozen=True)
class ChatSettings:
    allowed_origins: frozenset[str]  # the Origin header of a socket must be one of these
    max_message_chars: int
    messages_per_minute: int  # per session
    sessions_per_ip: int  # new sessions per client address per hour


def read(table: Table) -> ChatSettings | None:
    """None when the section is absent: the channel is off."""
    if not table.present:
        return None
    origins = [origin.rstrip("/") for origin in table.strings("allowed_origins", required=True)]
    settings = ChatSettings(
        allowed_origins=frozenset(origins),
        max_message_chars=table.integer("max_message_chars", 4000, minimum=1),
        messages_per_minute=table.integer("messages_per_minute", 30, minimum=1),
        sessions_per_ip=table.integer("sessions_per_ip", 20, minimum=1),
    )
    table.close()
    return settings
