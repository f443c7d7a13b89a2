"""The system's Chromium driven by Playwright's Python package (never `playwright install`,
which downloads browsers): shared by bench/console.py and the browser tests (tests/browser.py)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.async_api import Browser, Page, Playwright, Request

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# As root Chromium refuses to start without --no-sandbox; /dev/shm is small in containers.
ARGS = ["--no-sandbox", "--disable-dev-shm-usage"]
MISSING = (
    "The browser tests need Chromium and found none. Install it with "
    "`apt-get install -y chromium` (Debian/Ubuntu; .ci/run does this), "
    "or point INTAKE_CHROMIUM at a Chromium binary."
)


def find_chromium() -> str | None:
    """INTAKE_CHROMIUM when set (it must exist), else the first Chromium on PATH."""
    given = os.environ.get("INTAKE_CHROMIUM")
    if given:
        return given if os.access(given, os.X_OK) else None
    return next((path for name in NAMES if (path := shutil.which(name))), None)


async def launch(playwright: Playwright, executable: str) -> Browser:
    return await playwright.chromium.launch(executable_path=executable, headless=True, args=ARGS)


@dataclass
class Load:
    """What a page fetched: bytes on the wire (headers and bodies, both ways) and the URLs."""

    transferred: int = 0
    urls: list[str] = field(default_factory=list)

    def foreign(self, origin: str) -> list[str]:
        """Requests that went anywhere but `origin` (data: and blob: URLs never leave)."""
        own = urlsplit(origin)
        return [
            url
            for url in self.urls
            if urlsplit(url).scheme not in ("data", "blob")
            and (urlsplit(url).scheme, urlsplit(url).netloc) != (own.scheme, own.netloc)
        ]


def record(page: Page) -> Load:
    """Count every request of `page` from now on. A request still open (the event stream) is
    listed but adds no bytes: Chromium reports sizes when a request finishes."""
    load = Load()

    async def finished(request: Request) -> None:
        sizes = await request.sizes()
        load.transferred += (
            sizes["requestHeadersSize"] + sizes["requestBodySize"]
            + sizes["responseHeadersSize"] + sizes["responseBodySize"]
        )  # fmt: skip

    page.on("request", lambda request: load.urls.append(request.url))
    page.on("requestfinished", finished)
    return load
