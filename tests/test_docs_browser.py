"""`/api/docs` in headless Chromium: our own script renders every operation of the document,
nothing is loaded from elsewhere, and the page's CSP lets it run."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from playwright.async_api import Page, expect

from bench.browser import record
from gateway.http.openapi.registry import OPERATIONS
from tests.browser import dialogs


async def test_the_docs_page_renders_every_operation(page: Page, gateway: TestClient) -> None:
    load, seen = record(page), dialogs(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    origin = str(gateway.make_url("/"))
    await page.goto(str(gateway.make_url("/api/docs")))
    operations = page.get_by_test_id("operation")
    await expect(operations).to_have_count(len(OPERATIONS))
    create = page.locator("#post_api_cases")
    await create.locator("summary").click()
    await expect(create).to_contain_text("NewCase")
    await expect(create).to_contain_text("operatorBearer")
    await expect(create).to_contain_text("422 Unprocessable")
    assert load.foreign(origin) == [] and errors == [] and seen == []
