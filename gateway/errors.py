"""The project's one exception family; the edges (HTTP, SMTP) translate it to replies.

IntakeError                    code, message, field; `status` is the HTTP mapping
├── BadRequest           400   malformed body
├── Unauthorized         401   missing/bad credentials or signature
├── Forbidden            403   not yours
├── NotFound             404
├── Conflict             409   wrong state
├── PayloadTooLarge      413
├── UnsupportedMedia     415
├── InvalidField         422   a field is missing or wrong
│   └── ConfigError            config.toml problems, one line each
└── StorageUnavailable   503   Redis unreachable: retry later (SMTP 451 4.3.0)
"""

from __future__ import annotations


class IntakeError(Exception):
    status = 500
    default_code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field

    def body(self) -> dict[str, dict[str, str]]:
        error = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


class BadRequest(IntakeError):
    status = 400
    default_code = "malformed_request"


class Unauthorized(IntakeError):
    status = 401
    default_code = "unauthorized"


class Forbidden(IntakeError):
    status = 403
    default_code = "forbidden"


class NotFound(IntakeError):
    status = 404
    default_code = "not_found"


class Conflict(IntakeError):
    status = 409
    default_code = "wrong_state"


class PayloadTooLarge(IntakeError):
    status = 413
    default_code = "payload_too_large"


class UnsupportedMedia(IntakeError):
    status = 415
    default_code = "unsupported_media_type"


class InvalidField(IntakeError):
    status = 422
    default_code = "invalid_field"


class ConfigError(InvalidField):
    """Every problem found in one config file; `problems` are the printed lines."""

    default_code = "invalid_config"

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class StorageUnavailable(IntakeError):
    status = 503
    default_code = "storage_unavailable"
    retry_after = 5
