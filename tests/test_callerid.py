"""Withheld caller IDs never become a number a contact could be matched or created by."""

from __future__ import annotations

import pytest

from channels.callerid import is_withheld
from channels.phones import normalize


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "anonymous",
        "Anonymous",
        "ANONYMOUS",
        "restricted",
        "Unknown",
        "private",
        "Private Number",
        "withheld",
        "blocked",
        "unavailable",
        "sip:anonymous@anonymous.invalid",
        "anonymous@192.0.2.1",
        "+266696687",
        "+266 696 687",
        "+7378742833",
        "+2562533",
        "+8656696",
        "+86282452253",
    ],
)
def test_withheld(raw: str) -> None:
    assert is_withheld(raw)
    assert is_withheld(normalize(raw, "RU"))


@pytest.mark.parametrize(
    "raw",
    [
        "+79161234567",
        "8 (916) 123-45-67",
        "+1 415 523 8886",
        "266696687",  # a national number in some region, not Twilio's spelled word
        "+2666966870",
        "sip:101@pbx.example.com",
        "anonymous-caller-ltd",
        "101",
    ],
)
def test_real_numbers_are_not_withheld(raw: str) -> None:
    assert not is_withheld(raw)
