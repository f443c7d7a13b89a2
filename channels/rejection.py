"""`Rejected`: the one refusal the transport-free provider parsers raise.

It is an `IntakeError`, so the HTTP edge already answers it with the SPEC error body; the code
alone decides the status, so a parser cannot pair a signature failure with a 422 by mistake.
"""

from __future__ import annotations

from typing import Literal

from gateway.errors import IntakeError

Code = Literal[
    "webhook_disabled",
    "missing_signature",
    "bad_signature",
    "malformed_request",
    "unsupported_media_type",
    "missing_field",
    "invalid_field",
]

STATUS: dict[Code, int] = {
    "webhook_disabled": 401,
    "missing_signature": 401,
    "bad_signature": 401,
    "malformed_request": 400,
    "unsupported_media_type": 415,
    "missing_field": 422,
    "invalid_field": 422,
}


class Rejected(IntakeError):
    """A provider request refused before anything is stored."""

    def __init__(self, code: Code, message: str, field: str | None = None) -> None:
        super().__init__(message, code=code, field=field)
        self.status = STATUS[code]


def invalid(field: str, message: str) -> Rejected:
    return Rejected("invalid_field", message, field=field)


def missing(field: str) -> Rejected:
    return Rejected("missing_field", f"'{field}' is required.", field=field)
