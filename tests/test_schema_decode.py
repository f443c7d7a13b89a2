"""channels/schema.py: msgspec's decode errors as the SPEC's, the field named by its JSON path."""

from __future__ import annotations

import pytest

from channels import schema
from channels.errors import BadRequest, IntakeError, InvalidField
from channels.phone import events
from channels.phone.body import PhoneBody
from gateway.http.schemas.admin import Explain
from gateway.http.schemas.cases import NewCase


def refused(raw: bytes, kind: type = NewCase) -> IntakeError:
    with pytest.raises(IntakeError) as caught:
        schema.decode(raw, kind)
    return caught.value


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        (b'{"text": "t"}', "missing_field", "contact"),
        (b'{"contact": {"phone": ["1"]}, "text": "t"}', "invalid_field", "contact.phone"),
        (b'{"contact": {}, "text": true}', "invalid_field", "text"),
        (b'{"contact": {}, "text": "t", "service": 5}', "invalid_field", "service"),
        (b'{"contact": 5, "text": "t"}', "invalid_field", "contact"),
    ],
)
def test_a_wrong_field_is_named_by_its_path(raw: bytes, code: str, field: str) -> None:
    error = refused(raw)
    assert isinstance(error, InvalidField)
    assert (error.code, error.field) == (code, field)
    assert field in error.message and "`" not in error.message


@pytest.mark.parametrize(
    "raw", [b"[]", b'"x"', b"{", b'{"contact": 5, "text": ', b"[" * 70_000, b'{"a": NaN}']
)
def test_what_is_no_json_object_is_malformed(raw: bytes) -> None:
    """Even when msgspec meets a wrong field before it finds the body broken."""
    error = refused(raw)
    assert isinstance(error, BadRequest) and error.code == "malformed_json"


def test_a_lone_surrogate_decodes_for_its_field_check() -> None:
    found = schema.decode(b'{"contact": {}, "text": "\\ud800"}', NewCase)
    assert found.text == "\ud800"  # channels/validate.py refuses it on `text` (422)


def test_names_in_json_are_the_fields_names() -> None:
    explain = schema.decode(b'{"channel": "sms", "from": "+7916", "fields": {"a": 1}}', Explain)
    assert (explain.channel, explain.sender, explain.fields) == ("sms", "+7916", {"a": 1})
    assert refused(b'{"from": {}}', Explain).field == "from"
    assert refused(b'{"channel": "fax"}', Explain).field == "channel"


def test_a_route_keeps_its_own_malformed_error() -> None:
    with pytest.raises(IntakeError) as caught:
        schema.decode(b"[1]", PhoneBody, events.json_object)
    assert caught.value.code == "malformed_request"
