"""Withheld caller IDs: such a call must never match or create a shared contact.

Carriers and PBXs spell "no number" as a word (`anonymous`, `restricted`, ...), as an empty
value, as a SIP URI with such a user part, or, at Twilio, as the word typed on a keypad:
+266696687 ANONYMOUS, +7378742833 RESTRICTED, +2562533 BLOCKED, +8656696 UNKNOWN,
+86282452253 UNAVAILABLE.
"""

from __future__ import annotations

import re

WORDS = frozenset(
    {
        "anonymous",
        "restricted",
        "unknown",
        "private",
        "privatenumber",
        "withheld",
        "blocked",
        "unavailable",
        "notavailable",
        "clir",
        "hidden",
    }
)
KEYPAD_WORDS = frozenset({"266696687", "7378742833", "2562533", "8656696", "86282452253"})
SEPARATORS = re.compile(r"[\s()\-.]+")


def is_withheld(raw: str) -> bool:
    """True when `raw` (as the provider sent it, or already normalized) names no caller."""
    value = SEPARATORS.sub("", raw).lower()
    if value.startswith(("sip:", "sips:", "tel:")):
        value = value.split(":", 1)[1]
    value = value.split("@", 1)[0]
    if not value or value in WORDS:
        return True
    return value.startswith("+") and value[1:] in KEYPAD_WORDS
