"""The pages served to browsers and `GET /api/me`, read with a plain HTTP client."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.conftest import ADMIN

ANNA = {"Authorization": "Bearer sample-token-anna"}


async def test_the_console_is_served_with_a_strict_policy(gateway: TestClient) -> None:
    page = await gateway.get("/console")
    assert page.status == 200
    assert page.content_type == "text/html"
    assert 'data-testid="work-list"' in await page.text()
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    script = await gateway.get("/console/console.js")
    assert script.content_type == "text/javascript"
    assert "innerHTML" not in await script.text()  # customer text goes in as text only


async def test_only_the_consoles_own_files_are_served(gateway: TestClient) -> None:
    for path in ("/console/secret.py", "/console/..%2Fconfig.py", "/console/index.html"):
        resp = await gateway.get(path)
        assert resp.status == 404, path
        assert (await resp.json())["error"]["code"] == "not_found"


async def test_the_hosted_form_page_names_its_form(gateway: TestClient) -> None:
    resp = await gateway.get("/forms/contact")
    assert resp.status == 200
    body = await resp.text()
    assert 'action="contact"' in body
    assert 'enctype="multipart/form-data"' in body
    assert 'name="website"' in body


async def test_an_unknown_form_page_is_a_json_404(gateway: TestClient) -> None:
    resp = await gateway.get("/forms/nope")
    assert resp.status == 404
    assert (await resp.json())["error"] == {
        "code": "form_not_found",
        "message": "There is no form 'nope'.",
    }


async def test_me_names_the_tokens_operator(gateway: TestClient) -> None:
    me = await (await gateway.get("/api/me", headers=ANNA)).json()
    assert (me["operator"], me["admin"]) == ("anna", False)
    assert {"id": "boris", "name": "Boris Ivanov"} in me["operators"]
    assert {"id": "billing", "name": "Billing"} in me["services"]
    admin = await (await gateway.get("/api/me", headers=ADMIN)).json()
    assert (admin["operator"], admin["admin"]) == (None, True)
    resp = await gateway.get("/api/me")
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "missing_token"
