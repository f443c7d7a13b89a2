"""Browser fixtures (a pytest plugin named in tests/conftest.py): headless system Chromium.

Chromium missing is a failure, not a skip: the README's test command needs it (`.ci/run`
installs it), and a skipped browser test would hide that the console went untested.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Dialog, Page, async_playwright

from bench.browser import MISSING, find_chromium, launch

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = find_chromium()
    if executable is None:
        pytest.fail(MISSING, pytrace=False)
    async with async_playwright() as playwright:
        found = await launch(playwright, executable)
        yield found
        await found.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh context at 1280x800; a second context is `await browser.new_context()`."""
    context = await browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    yield await context.new_page()
    await context.close()


def dialogs(page: Page) -> list[str]:
    """Every alert/confirm/prompt the page opens (dismissed at once), to assert none fired."""
    seen: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        seen.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    return seen
