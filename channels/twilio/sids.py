"""Twilio's ids in webhook forms: SIDs are two capital letters and 32 hex digits."""

from __future__ import annotations

import re

from channels.rejection import invalid
from channels.urlencoded import Form

SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")  # e.g. SM..., MM..., CA..., RE...


def sid(form: Form, name: str, *, required: bool = True) -> str:
    value = form.text(name, required=required, max_len=34)
    if value and not SID.fullmatch(value):
        raise invalid(name, f"'{name}' is not a Twilio SID.")
    return value
