"""The console's first load: every byte the page transfers (headers and bodies, both ways) from
opening `/console#token=...` until it shows the operator's work live, and whether any request
went to another origin. Goal (issue 16): at most 200 KB and none elsewhere.

`python -m bench.console`: the sample config, an embedded Valkey, headless system Chromium.
Exit 1 when a goal is missed.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from importlib import resources

from aiohttp import web
from playwright.async_api import async_playwright

from bench.browser import MISSING, Load, find_chromium, launch, record
from bench.common import CONFIG, HOST, free_port
from gateway.config import load_config
from gateway.http.app import build_app
from gateway.process.embedded import EmbeddedValkey

LIMIT = 200_000
FILES = ("index.html", "console.js", "console.css")


async def first_load(base: str, chromium: str) -> Load:
    async with async_playwright() as playwright:
        browser = await launch(playwright, chromium)
        page = await browser.new_page()
        load = record(page)
        await page.goto(f"{base}/console#token=sample-token-anna")
        await page.wait_for_selector("#link.up")  # signed in, the list read, the stream open
        await page.wait_for_load_state("load")
        await browser.close()
    return load


async def measure(redis_url: str, chromium: str) -> tuple[Load, str]:
    runner = web.AppRunner(build_app(load_config(CONFIG, env={}), redis_url))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, HOST, port).start()
    base = f"http://{HOST}:{port}"
    try:
        return await first_load(base, chromium), base
    finally:
        await runner.cleanup()


def main() -> int:
    chromium = find_chromium()
    if chromium is None:
        print(MISSING, file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as data:
        valkey = EmbeddedValkey(data)
        try:
            load, base = asyncio.run(measure(valkey.start(), chromium))
        finally:
            valkey.stop()
    folder = resources.files("gateway") / "console"
    sizes = ", ".join(f"{name} {len((folder / name).read_bytes())} B" for name in FILES)
    foreign = load.foreign(base)
    print(f"console first load: {load.transferred} bytes in {len(load.urls)} requests")
    print(f"files as stored: {sizes}")
    print(f"requests to other origins: {foreign or 'none'}")
    return 0 if load.transferred <= LIMIT and not foreign else 1


if __name__ == "__main__":
    sys.exit(main())
