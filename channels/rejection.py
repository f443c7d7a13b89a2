"""`Rejected`: the one refusal the transport-free provider parsers raise.

`Rejected(code, ...)` builds the member of the error family that the code names (a signature
failure is always `Unauthorized`, a bad field `InvalidField`), so each edge maps it like any other
error and a parser cannot pair a signature failure with a 422 by mistake.
"""

from __future__ import annotations

from typing import Literal

from channels.errors import BadRequest, IntakeError, InvalidField, Unauthorized, UnsupportedMedia

Code = Literal[
    "webhook_disabled",
    "missing_signature",
    "bad_signature",
    "malformed_request",
    "unsupported_media_type",
    "missing_field",
    "invalid_field",
]


class Rejected(IntakeError):
    """A provider request refused before anything is stored."""

    def __new__(cls, code: Code, message: str, field: str | None = None) -> Rejected:
        return super().__new__(_KINDS[code] if cls is Rejected else cls)

    def __init__(self, code: Code, message: str, field: str | None = None) -> None:
        super().__init__(message, code=code, field=field)


class _BadSignature(Rejected, Unauthorized):
    pass


class _Malformed(Rejected, BadRequest):
    pass


class _WrongMedia(Rejected, UnsupportedMedia):
    pass


class _BadField(Rejected, InvalidField):
    pass


_KINDS: dict[str, type[Rejected]] = {
    "webhook_disabled": _BadSignature,
    "missing_signature": _BadSignature,
    "bad_signature": _BadSignature,
    "malformed_request": _Malformed,
    "unsupported_media_type": _WrongMedia,
    "missing_field": _BadField,
    "invalid_field": _BadField,
}


def invalid(field: str, message: str) -> Rejected:
    return Rejected("invalid_field", message, field=field)


def missing(field: str) -> Rejected:
    return Rejected("missing_field", f"'{field}' is required.", field=field)
