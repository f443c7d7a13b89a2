"""The OpenAPI 3.1 document, built once from the registry and the declared msgspec schemas."""

from __future__ import annotations

import re
from functools import cache
from http import HTTPStatus
from typing import Any

import msgspec

from gateway.http.openapi.operation import JSON, Media, Op, Schema
from gateway.http.openapi.registry import OPERATIONS
from gateway.http.schemas.answers import Error

REF = "#/components/schemas/{name}"
MAX_ID = 2**53
PATH_PARAMS: dict[str, dict[str, Any]] = {
    "case_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "n": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}
SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "operator": [{"operatorBearer": []}, {"adminBearer": []}],
    "admin": [{"adminBearer": []}],
    "intake": [{"intakeSignature": []}],
    "twilio": [{"twilioSignature": []}],
    "none": [],
}
SCHEMES = {
    "operatorBearer": {"type": "http", "scheme": "bearer",
                       "description": "An operator's token ([[operators]].token)."},
    "adminBearer": {"type": "http", "scheme": "bearer",
                    "description": "[gateway].admin_token; it may act for any operator."},
    "intakeSignature": {"type": "apiKey", "in": "header", "name": "X-Intake-Signature",
                        "description": 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw '
                        "body>\"> with the channel's secret; refused when older than 5 minutes."},
    "twilioSignature": {"type": "apiKey", "in": "header", "name": "X-Twilio-Signature",
                        "description": "Twilio's request signature over [gateway].public_url "
                        "plus the path and the form parameters."},
}  # fmt: skip
ERROR_EXAMPLE = {"error": {"code": "invalid_field", "message": "'text' is required.",
                           "field": "text"}}  # fmt: skip
INFO = {
    "title": "Intake gateway",
    "version": "1",
    "description": "Customer contacts from every channel, routed to the least-loaded operator. "
    "Every error answers the same JSON body (`Error`); `field` names the JSON path of the "
    "offending field.",
}


def operation_id(op: Op) -> str:
    return f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', op.path.lower()).strip('_')}"


def _types(op: Op) -> list[type]:
    return [t for t in (op.body, op.ok[1]) if t is not None and not isinstance(t, Media)]


def _content(schema: Schema, refs: dict[Any, Any]) -> dict[str, Any] | None:
    if schema is None:
        return None
    if isinstance(schema, Media):
        text = {"schema": {"type": "string"}}
        return {schema.content_type: {"schema": schema.schema}} | dict.fromkeys(schema.others, text)
    return {JSON: {"schema": refs[schema]}}


def _parameters(op: Op) -> list[dict[str, Any]]:
    found = [
        {"name": name, "in": "path", "required": True,
         "schema": PATH_PARAMS.get(name, {"type": "string", "minLength": 1})}
        for name in op.path_params
    ]  # fmt: skip
    for query in op.query:
        param = {"name": query.name, "in": "query", "required": False, "schema": query.schema}
        if query.description:
            param["description"] = query.description
        found.append(param)
    return found


def _error(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": HTTPStatus(status).phrase,
        "content": {JSON: {"schema": {"$ref": REF.format(name="Error")},
                           "example": ERROR_EXAMPLE}},
    }  # fmt: skip
    if status in (503, 429):
        answer["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "required": True}}
    if status == 303:  # a browser's form post: no body
        return {"description": "See Other: the form's redirect page"}
    return answer


def _operation(op: Op, refs: dict[Any, Any]) -> dict[str, Any]:
    status, answer = op.ok
    success: dict[str, Any] = {"description": HTTPStatus(status).phrase}
    content = _content(answer, refs)
    if content:
        success["content"] = content
    if op.links:
        success["links"] = op.links
    found: dict[str, Any] = {
        "operationId": operation_id(op),
        "summary": op.summary,
        "tags": [op.tag],
        "security": SECURITY[op.auth],
        "parameters": _parameters(op),
        "responses": {str(status): success} | {str(s): _error(s) for s in op.statuses()},
    }
    body = _content(op.body, refs)
    if body:
        found["requestBody"] = {"required": not op.body_optional, "content": body}
    return found


@cache
def document() -> dict[str, Any]:
    kinds = [Error, *dict.fromkeys(t for op in OPERATIONS for t in _types(op))]
    found, components = msgspec.json.schema_components(kinds, ref_template=REF)
    refs = dict(zip(kinds, found, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SCHEMES},
    }
