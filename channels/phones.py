"""Phone numbers to E.164 with phonenumbers: the one parser for config and channels."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


def is_region(code: str) -> bool:
    """A region phonenumbers knows, like "RU" (upper case)."""
    return code in phonenumbers.SUPPORTED_REGIONS


def e164(text: str, region: str) -> str | None:
    """E.164 for a *possible* number in `region` (or an international one); else None."""
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Parsing costs tens of microseconds; the dialled numbers and regular callers repeat a lot.
@lru_cache(maxsize=16384)
def normalize(raw: str, region: str) -> str:
    """E.164 for a possible number; otherwise the input, stripped, merged with nothing."""
    text = raw.strip()
    return e164(text, region) or text
