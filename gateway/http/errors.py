"""The HTTP edge of the error family: each class's status, and the SPEC's JSON error body.

A class not in STATUS answers with its nearest listed ancestor's status.
"""

from __future__ import annotations

from channels.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    IntakeError,
    InvalidField,
    NotFound,
    PayloadTooLarge,
    StorageUnavailable,
    Unauthorized,
    UnsupportedMedia,
)

STATUS: dict[type[IntakeError], int] = {
    IntakeError: 500,
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,  # RoutingRefused
    PayloadTooLarge: 413,
    UnsupportedMedia: 415,
    InvalidField: 422,  # ConfigError
    StorageUnavailable: 503,
}


def status_of(error: IntakeError) -> int:
    return next(STATUS[kind] for kind in type(error).__mro__ if kind in STATUS)


def error_body(error: IntakeError) -> dict[str, dict[str, str]]:
    body = {"code": error.code, "message": error.message}
    if error.field is not None:
        body["field"] = error.field
    return {"error": body}
