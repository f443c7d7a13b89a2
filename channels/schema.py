"""JSON bodies decoded by one declared msgspec Struct per route, errors in the SPEC's shape.

msgspec checks the shape (types, required fields) while it parses; the value rules of SPEC §4
(case ids, NUL and lone surrogates, provider ids, times) stay in channels/validate.py, applied
to the decoded fields by the code that uses them. A body msgspec cannot parse is read again by
the lenient reader (`validate.json_object`): a lone surrogate escape is JSON that msgspec
refuses, and must be a 422 on its field, while NaN or deep nesting stay a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from channels import validate
from channels.rejection import Rejected

T = TypeVar("T")
Loose = Callable[[bytes], dict[str, Any]]  # the fallback reader; raises the route's 400

_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<name>[^`]+)`")


def decode(raw: bytes, kind: type[T], loose: Loose = validate.json_object) -> T:
    """`raw` as a `kind`; the route's 400 (from `loose`) when it is no JSON object, else 422
    naming the first wrong field."""
    try:
        return msgspec.json.decode(raw, type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError):
        # msgspec checks types as it reads: a wrong field may be found before the end of a
        # body that is not even JSON. Parsed whole first, the error is the SPEC's.
        return convert(loose(raw), kind)


def convert(body: dict[str, Any], kind: type[T]) -> T:
    """An already parsed object as a `kind` (errors as `decode` gives them)."""
    try:
        return msgspec.convert(body, kind)
    except msgspec.ValidationError as error:
        raise refusal(error) from None


def refusal(error: msgspec.ValidationError) -> Rejected:
    """msgspec's message as the SPEC error, the JSON path as a dotted `field`."""
    parts = _AT.match(str(error))
    assert parts is not None  # the pattern matches any text
    what, path = parts["what"], (parts["path"] or "").lstrip(".")
    missing = _MISSING.fullmatch(what)
    if missing:
        name = f"{path}.{missing['name']}" if path else missing["name"]
        return Rejected("missing_field", f"'{name}' is required.", field=name)
    unknown = _UNKNOWN.fullmatch(what)
    if unknown:  # a Struct with forbid_unknown_fields
        name = f"{path}.{unknown['name']}" if path else unknown["name"]
        return Rejected("invalid_field", f"'{name}' cannot be given here.", field=name)
    return Rejected("invalid_field", f"'{path}': {what.replace('`', '')}.", field=path or None)
