"""The OpenAPI document: valid OpenAPI 3.1, served without a token, and covering every route
the app registers (a route added without its registry line fails here)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from gateway.config import Config
from gateway.http.app import build_app
from gateway.http.openapi.document import document

METHODS = {"get", "put", "post", "patch", "delete"}


def registered(app: web.Application) -> set[tuple[str, str]]:
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m, path) for path, ops in doc["paths"].items() for m in ops if m in METHODS}


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = document()
    validate(doc)
    assert doc["openapi"].startswith("3.1")


def test_every_registered_route_is_documented_and_nothing_else(config: Config) -> None:
    app = build_app(config, "redis://127.0.0.1:1")
    routes, doc = registered(app), documented(document())
    assert routes - doc == set(), "routes without a line in gateway/http/openapi/registry.py"
    assert doc - routes == set(), "documented routes the app does not serve"
    assert len(routes) > 40


def test_every_error_answers_the_error_body_and_each_auth_is_declared() -> None:
    doc = document()
    schemes = set(doc["components"]["securitySchemes"])
    assert schemes == {"operatorBearer", "adminBearer", "intakeSignature", "twilioSignature"}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                if int(status) >= 400:
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path)
                    assert answer["content"]["application/json"]["example"]["error"]["code"]
            for needed in op["security"]:
                assert set(needed) <= schemes
            if path.startswith("/api/admin/"):
                assert op["security"] == [{"adminBearer": []}], path
            elif path.startswith("/api/") and not path.startswith("/api/docs"):
                assert {"operatorBearer": []} in op["security"] or path == "/api/openapi.json"
    detail = doc["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message"} and "field" in detail["properties"]


def test_request_bodies_come_from_the_declared_structs() -> None:
    doc = document()
    body = doc["paths"]["/api/cases"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/NewCase"}
    new_case = doc["components"]["schemas"]["NewCase"]
    assert set(new_case["required"]) == {"contact", "text"}
    assert {"theme", "subtheme", "product", "fields"} <= set(new_case["properties"])
    sms = doc["components"]["schemas"]["SmsBody"]
    assert {"id", "from", "to"} <= set(sms["required"]) and "received_at" in sms["properties"]
    presence = doc["components"]["schemas"]["PresenceChange"]["properties"]["presence"]
    assert presence["enum"] == ["available", "away", "offline"]

    patch = doc["components"]["schemas"]["CasePatch"]  # what the workflow routes enforce
    assert not patch.get("required") and patch["additionalProperties"] is False
    assert patch["properties"]["fields"]["type"] == "object"
    classify = doc["components"]["schemas"]["Classify"]
    assert set(classify["required"]) == {"service", "theme", "type"}
    assert classify["additionalProperties"] is False
    move = doc["components"]["schemas"]["MoveEntry"]
    assert move["required"] == ["to_case"] and move["properties"]["to_case"]["type"] == "integer"


async def test_the_document_and_its_page_are_served_without_a_token(gateway: TestClient) -> None:
    answer = await gateway.get("/api/openapi.json")
    assert answer.status == 200 and answer.content_type == "application/json"
    assert await answer.json() == document()
    page = await gateway.get("/api/docs")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    assert '<script src="/api/docs/docs.js"' in html and "http" not in html.split("<body>")[0]
    script = await gateway.get("/api/docs/docs.js")
    assert script.status == 200 and script.content_type == "text/javascript"
    assert 'fetch("/api/openapi.json")' in await script.text()
    assert (await gateway.get("/api/me")).status == 401  # the rest of /api/ still needs one
