"""The HTTP edge's one table: every class of the error family answers with its status."""

from __future__ import annotations

import pytest

from channels import errors
from gateway.http.errors import STATUS, error_body, status_of
from gateway.limits.errors import RateLimited
from routing.errors import RoutingRefused

EXPECTED = [
    (errors.IntakeError("x"), 500),
    (errors.BadRequest("x"), 400),
    (errors.Unauthorized("x"), 401),
    (errors.Forbidden("x"), 403),
    (errors.NotFound("x"), 404),
    (errors.Conflict("x"), 409),
    (RoutingRefused("not_yours"), 409),
    (errors.PayloadTooLarge("x"), 413),
    (errors.UnsupportedMedia("x"), 415),
    (errors.InvalidField("x"), 422),
    (errors.ConfigError(["config.toml: gateway.http: missing"]), 422),
    (errors.StorageUnavailable("x"), 503),
    (RateLimited("x", retry_after=3), 429),
]


@pytest.mark.parametrize(("error", "status"), EXPECTED)
def test_each_error_class_has_its_status(error: errors.IntakeError, status: int) -> None:
    assert status_of(error) == status


def test_every_class_of_the_family_is_covered() -> None:
    family = {type(error) for error, _ in EXPECTED}
    assert set(STATUS) <= family
    assert {
        c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Exception)
    } <= family


def test_body_carries_code_message_and_field() -> None:
    refused = RoutingRefused("at_capacity")
    assert error_body(refused)["error"]["code"] == "at_capacity"
    body = error_body(errors.InvalidField("'to' is required.", code="missing_field", field="to"))
    assert body == {
        "error": {"code": "missing_field", "message": "'to' is required.", "field": "to"}
    }
