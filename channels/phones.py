"""Phone numbers to E.164 with phonenumbers; unparseable numbers are kept as given."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


# Parsing costs tens of microseconds; the dialled numbers and regular callers repeat a lot.
@lru_cache(maxsize=16384)
def normalize(raw: str, region: str) -> str:
    """E.164 for a possible number; otherwise the input, stripped, merged with nothing."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_possible_number(number):
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
