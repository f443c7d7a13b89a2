"""The project's one exception family: a code, a message and maybe a field, never a transport.

Each edge maps the classes to its own replies in one place (HTTP: gateway/http/errors.py).

IntakeError                    code, message, field, extra
├── BadRequest                 malformed body
├── Unauthorized               missing/bad credentials or signature
├── Forbidden                  not yours
├── NotFound
├── Conflict                   wrong state
│   └── RoutingRefused         a routing step refused (routing/errors.py)
├── PayloadTooLarge
├── UnsupportedMedia
├── InvalidField               a field is missing or wrong
│   └── ConfigError            config.toml problems, one line each
└── StorageUnavailable         Redis unreachable: retry after `retry_after` seconds
"""

from __future__ import annotations

from typing import Any


class IntakeError(Exception):
    default_code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.extra = extra or {}  # more keys of the error body (`fields`, `case_id`)


class BadRequest(IntakeError):
    default_code = "malformed_request"


class Unauthorized(IntakeError):
    default_code = "unauthorized"


class Forbidden(IntakeError):
    default_code = "forbidden"


class NotFound(IntakeError):
    default_code = "not_found"


class Conflict(IntakeError):
    default_code = "wrong_state"


class PayloadTooLarge(IntakeError):
    default_code = "payload_too_large"


class UnsupportedMedia(IntakeError):
    default_code = "unsupported_media_type"


class InvalidField(IntakeError):
    default_code = "invalid_field"


class ConfigError(InvalidField):
    """Every problem found in one config file; `problems` are the printed lines."""

    default_code = "invalid_config"

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class StorageUnavailable(IntakeError):
    default_code = "storage_unavailable"
    retry_after = 5  # seconds
