"""Case workflow requests (PATCH, classify) checked against the config: each value on its own
here, the combination (theme -> type -> subtheme, product) in the Lua step that applies it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date
from typing import Any

import msgspec

from channels import validate
from channels.errors import InvalidField
from channels.phones import e164
from gateway.config import Config
from routing.catalogue_settings import Field
from routing.settings import RoutingSettings

MAX_TEXT = 1000  # characters of a custom text field
MAX_INTEGER = 2**53  # exact in a Lua number (a double) and in every JSON codec on the way


_encoded: list[tuple[RoutingSettings, str]] = []  # the running config's, encoded once


def catalogue_json(routing: RoutingSettings) -> str:
    """The catalogue as routing/lua/workflow.lua reads it (sets as {name: true}); encoded once
    per config (a reload brings new settings; a config is never changed in place)."""
    if not _encoded or _encoded[0][0] is not routing:
        _encoded[:] = [(routing, json.dumps(catalogue(routing)))]
    return _encoded[0][1]


def catalogue(routing: RoutingSettings) -> dict[str, Any]:
    cat = routing.catalogue
    themes = {
        t.id: {
            "types": dict.fromkeys(t.types, True),
            "subthemes": dict.fromkeys(t.subthemes, True),
            "product_required": t.product_required,
        }
        for t in cat.themes.values()
    }
    products = {p.id: {"themes": dict.fromkeys(p.themes, True)} for p in cat.products.values()}
    return {"themes": themes, "products": products, "types": routing.types}


def given(body: msgspec.Struct) -> dict[str, Any]:
    """The keys a decoded body gave (UNSET: absent, left as it is)."""
    return {k: v for k, v in msgspec.structs.asdict(body).items() if v is not msgspec.UNSET}


def changes(body: Mapping[str, Any], config: Config, service: str) -> dict[str, Any]:
    """The given keys of a CasePatch or Classify (gateway/http/schemas/workflow.py, which
    checked their types), each value checked against the config and normalized; `service`:
    whose fields apply."""
    routing = config.routing
    found: dict[str, Any] = {}
    cat = routing.catalogue
    for name, known in (("theme", cat.themes), ("product", cat.products)):
        if name in body:
            found[name] = _reference(body[name], name, known)
    if "type" in body:
        found["type"] = validate.choice(body["type"], "type", routing.types)
    if "subtheme" in body:
        found["subtheme"] = _reference(body["subtheme"], "subtheme", None)
    if "subject" in body:
        found["subject"] = validate.text(
            body["subject"], "subject", required=True, allow_empty=False, max_len=MAX_TEXT
        )
    if "fields" in body:
        found["fields"] = _fields(body["fields"], config, service)
    return found


def initial(body: Mapping[str, Any], config: Config, service: str) -> dict[str, Any]:
    """A new case's classification and custom fields (theme, subtheme, product, fields of a
    NewCase), checked as `changes` checks them; what is not given (null, no fields) is left
    out: {} when nothing is."""
    present = {name: value for name, value in body.items() if value is not None and value != {}}
    if not present:
        return {}
    found = changes(present, config, service)
    if "fields" in found:
        found["fields"] = {k: v for k, v in found["fields"].items() if v is not None}
    return found


def _reference(value: str | None, name: str, known: Mapping[str, object] | None) -> str | None:
    if value is None:
        return None
    if known is not None and value not in known:
        raise InvalidField(f"There is no {name} '{value}'.", field=name)
    return validate.storable(value, name)


def _fields(raw: Mapping[str, object], config: Config, service: str) -> dict[str, Any]:
    svc = config.routing.services.get(service)
    defined = svc.workflow.fields if svc else {}
    found: dict[str, Any] = {}
    for field_id, value in raw.items():
        name = f"fields.{field_id}"
        if field_id not in defined:
            raise InvalidField(f"Service '{service}' has no field '{field_id}'.", field=name)
        spec, region = defined[field_id], config.default_region
        found[field_id] = None if value is None else _value(spec, value, name, region)
    return found


def _value(spec: Field, value: object, name: str, region: str) -> Any:
    """One custom field's value for its kind: numbers as numbers, dates ISO, phones E.164."""
    if spec.kind == "number":
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if number is None or not math.isfinite(number):
            raise InvalidField(f"'{name}' must be a number.", field=name)
        if isinstance(number, int) and abs(number) > MAX_INTEGER:
            raise InvalidField(f"'{name}' must be a whole number within ±2^53.", field=name)
        return number
    text = value if isinstance(value, str) else None
    if text is None or not text.strip():
        raise InvalidField(f"'{name}' must be a non-empty string.", field=name)
    if spec.kind == "choice" and text not in spec.choices:
        raise InvalidField(f"'{name}' must be one of {', '.join(spec.choices)}.", field=name)
    if spec.kind == "date":
        return _date(text, name)
    if spec.kind == "phone":
        number_text = e164(text, region)
        if number_text is None:
            raise InvalidField(f"'{name}' is not a phone number.", field=name)
        return number_text
    return validate.storable(text, name, MAX_TEXT)


def _date(text: str, name: str) -> str:
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidField(f"'{name}' must be a date like 2027-03-01.", field=name) from None
