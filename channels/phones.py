"""Phone numbers to E.164 with phonenumbers: the one parser for config and channels."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


def is_region(code: str) -> bool:
    """A region phonenumbers knows, like "RU" (upper case)."""
    return code in phonenumbers.SUPPORTED_REGIONS


def e164(text: str, region: str) -> str | None:
    """E.164 for a *possible* number in `region` (or an international one); else None.

    When the number is not valid as written, two spellings phonenumbers reads otherwise are
    tried: `00` as the international prefix where the region's own is another (Russia's is
    810, yet `00` is dialled there too), and a trunk `0` that the region dropped but people
    still write (Poland in 2002: `0 22 …`)."""
    number = _parsed(text, region)
    if number is None or not phonenumbers.is_valid_number(number):
        number = _respelled(text, region) or number
    if number is None or not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parsed(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        return None


def _respelled(written: str, region: str) -> phonenumbers.PhoneNumber | None:
    text = written.lstrip()
    if text.startswith("00"):
        found = _parsed("+" + text[2:], region)
    elif text.startswith("0"):
        found = _parsed(text[1:], region)
    else:
        return None
    return found if found is not None and phonenumbers.is_valid_number(found) else None


# Parsing costs tens of microseconds; the dialled numbers and regular callers repeat a lot.
@lru_cache(maxsize=16384)
def normalize(raw: str, region: str) -> str:
    """E.164 for a possible number; otherwise the input, stripped, merged with nothing."""
    text = raw.strip()
    return e164(text, region) or text
