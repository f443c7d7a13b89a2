"""Case workflow requests (PATCH, classify) checked against the config: each value on its own
here, the combination (theme -> type -> subtheme, product) in the Lua step that applies it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from channels import validate
from channels.errors import InvalidField
from channels.phones import e164
from gateway.config import Config
from routing.catalogue_settings import Field
from routing.settings import RoutingSettings

PATCH_KEYS = ("theme", "type", "subtheme", "product", "fields", "subject")
CLASSIFY_KEYS = ("theme", "type", "subtheme", "product", "fields", "service")
NEW_CASE_KEYS = ("theme", "subtheme", "product", "fields")  # the type: the case's own
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


def changes(
    body: Mapping[str, Any], config: Config, service: str, allowed: tuple[str, ...]
) -> dict[str, Any]:
    """The body's changes, each value checked and normalized; `service`: whose fields apply."""
    routing = config.routing
    for name in body:
        if name not in allowed:
            raise InvalidField(f"'{name}' cannot be changed here.", field=name)
    found: dict[str, Any] = {}
    cat = routing.catalogue
    for name, known in (("theme", cat.themes), ("product", cat.products)):
        if name in body:
            found[name] = _reference(body[name], name, known)
    if "type" in body:
        found["type"] = validate.choice(body["type"], "type", routing.types)
        if found["type"] is None:
            raise InvalidField("'type' cannot be cleared.", field="type")
    if "subtheme" in body:
        found["subtheme"] = _reference(body["subtheme"], "subtheme", None)
    if "subject" in body:
        found["subject"] = validate.text(
            body["subject"], "subject", required=True, allow_empty=False, max_len=MAX_TEXT
        )
    if "fields" in body:
        found["fields"] = _fields(body["fields"], config, service)
    if not found:
        what = f"Give one of {', '.join(allowed)}."
        raise InvalidField(what, code="missing_field", field=allowed[0])
    return found


def initial(body: Mapping[str, Any], config: Config, service: str) -> dict[str, Any]:
    """A new case's classification and custom fields (NEW_CASE_KEYS), checked as `changes`
    checks them; what is not given (null, no fields) is left out: {} when nothing is."""
    given = {name: value for name, value in body.items() if value is not None and value != {}}
    if not given:
        return {}
    found = changes(given, config, service, NEW_CASE_KEYS)
    if "fields" in found:
        found["fields"] = {k: v for k, v in found["fields"].items() if v is not None}
    return found


def _reference(value: object, name: str, known: Mapping[str, object] | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidField(f"'{name}' must be a non-empty string or null.", field=name)
    if known is not None and value not in known:
        raise InvalidField(f"There is no {name} '{value}'.", field=name)
    return validate.storable(value, name)


def _fields(raw: object, config: Config, service: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidField("'fields' must be an object.", field="fields")
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
