"""A visitor's chat through the embedded widget and the operator's console, both in Chromium.

The visitor's page lives on a site of its own (another loopback port, the one origin the
gateway's `[channels.chat].allowed_origins` lists here) and embeds the widget with one script
tag, as a customer's website would. The operator works in a second browser context.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, BrowserContext, Page, expect

from gateway.config import Config
from tests.browser import DESKTOP, PHONE, dialogs
from tests.conftest import GatewayFactory
from tests.test_console_browser import ANNA, HOSTILE, go_available, item, sign_in

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>A shop</h1><p>Questions? Ask us.</p>
<script src="{gateway}/chat/widget.js"></script>
</body></html>
"""


@dataclasses.dataclass
class Chat:
    gateway: TestClient
    site: str  # the embedding page's URL


@pytest.fixture
async def chat(
    aiohttp_server: Callable[..., Any], make_gateway: GatewayFactory, config: Config
) -> Chat:
    """The shop's site (serving the embedding page) and a gateway that allows its origin."""
    where: dict[str, str] = {}

    async def shop(request: web.Request) -> web.Response:
        return web.Response(text=PAGE.format(gateway=where["gateway"]), content_type="text/html")

    site = web.Application()
    site.router.add_get("/", shop)
    server: TestServer = await aiohttp_server(site)
    origin = str(server.make_url("")).rstrip("/")
    assert config.channels.chat is not None
    allowed = dataclasses.replace(config.channels.chat, allowed_origins=frozenset({origin}))
    channels = dataclasses.replace(config.channels, chat=allowed)
    gateway = await make_gateway(dataclasses.replace(config, channels=channels))
    where["gateway"] = str(gateway.make_url("")).rstrip("/")
    return Chat(gateway, origin + "/")


async def desk(browser: Browser) -> tuple[BrowserContext, Page]:
    """The operator's own browser context (its own storage: nothing shared with the visitor)."""
    context = await browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    return context, await context.new_page()


async def write(visitor: Page, text: str) -> None:
    await visitor.get_by_test_id("chat-input").fill(text)
    await visitor.get_by_test_id("chat-send").click()
    mine = visitor.locator("[data-testid=chat-message][data-from=visitor]")
    await expect(mine.last).to_have_text(text)  # the gateway's echo: stored


async def case_of(chat: Chat, visitor: Page) -> int:
    """The case the widget's session belongs to, as the widget keeps it for a reload."""
    host = chat.gateway.make_url("").host
    port = chat.gateway.make_url("").port
    saved = await visitor.evaluate(f"JSON.parse(localStorage['intake-chat:{host}:{port}'])")
    case_id: int = saved["case_id"]
    return case_id


async def open_chat(chat: Chat, visitor: Page) -> None:
    await visitor.goto(chat.site)
    button = visitor.get_by_test_id("chat-open")
    await expect(button).to_have_attribute("aria-expanded", "false")
    await button.click()
    await expect(visitor.get_by_test_id("chat-input")).to_be_focused()
    await expect(button).to_have_text("Close chat")


async def test_a_visitor_chats_with_the_operator_who_accepts_replies_and_resolves(
    browser: Browser, page: Page, chat: Chat, tmp_path: Path
) -> None:
    visitor = page
    context, console = await desk(browser)
    await sign_in(console, chat.gateway)
    await go_available(console)

    await open_chat(chat, visitor)
    await write(visitor, "Hello, where is my order 4711?")
    case_id = await case_of(chat, visitor)

    # The chat is offered (30 s in the sample): it appears live, with a countdown.
    offered = console.locator(item(console, case_id))
    await expect(offered.locator(".countdown")).to_contain_text("s left")
    await expect(console.locator("#badge")).to_have_text("1")
    await offered.get_by_test_id("offer-accept").click()
    await expect(console.get_by_test_id("case-view")).to_be_visible()
    await expect(console.locator("#case-meta .status")).to_have_text("In progress")
    timeline = console.get_by_test_id("timeline")
    await expect(timeline).to_contain_text("Hello, where is my order 4711?")

    await console.get_by_test_id("reply-input").fill("It left the warehouse today.")
    await console.get_by_test_id("reply-send").click()
    await expect(timeline).to_contain_text("It left the warehouse today.")
    theirs = visitor.locator("[data-testid=chat-message][data-from=operator]")
    await expect(theirs).to_have_text(["It left the warehouse today."])
    await write(visitor, "Thanks!")
    await expect(timeline.locator(".k-message").filter(has_text="Thanks!")).to_have_count(1)
    await visitor.screenshot(path=tmp_path / "visitor.png")
    await console.screenshot(path=tmp_path / "console-chat.png")
    await visitor.set_viewport_size(PHONE)
    await visitor.screenshot(path=tmp_path / "visitor-phone.png")

    # A reload: the same session, the whole conversation again, in order.
    await visitor.reload()
    messages = visitor.get_by_test_id("chat-message")
    await expect(messages).to_have_text(
        ["Hello, where is my order 4711?", "It left the warehouse today.", "Thanks!"]
    )
    await expect(messages.nth(1)).to_have_attribute("data-from", "operator")
    await expect(visitor.get_by_test_id("chat-open")).to_have_text("Close chat")  # kept open
    assert await case_of(chat, visitor) == case_id

    await console.get_by_test_id("resolve").click()
    await expect(offered).to_have_count(0)
    stored = await (await chat.gateway.get(f"/api/cases/{case_id}", headers=ANNA)).json()
    assert (stored["channel"], stored["status"]) == ("chat", "resolved")
    await context.close()


async def test_hostile_chat_text_is_shown_as_text_on_both_sides(
    browser: Browser, page: Page, chat: Chat, tmp_path: Path
) -> None:
    visitor = page
    context, console = await desk(browser)
    seen_visitor, seen_console = dialogs(visitor), dialogs(console)
    await sign_in(console, chat.gateway)
    await go_available(console)

    await open_chat(chat, visitor)
    await write(visitor, HOSTILE)
    assert await visitor.get_by_test_id("chat-messages").locator("img, script").count() == 0
    case_id = await case_of(chat, visitor)
    offered = console.locator(item(console, case_id))
    await offered.get_by_test_id("offer-accept").click()
    timeline = console.get_by_test_id("timeline")
    # Rendered as HTML, the text would read "Hi  and  & bye" and match nothing.
    await expect(timeline.locator(".k-message").filter(has_text=HOSTILE)).to_have_count(1)
    assert await timeline.locator("img, script").count() == 0

    await console.get_by_test_id("reply-input").fill("<b>not bold</b> <img src=y onerror=alert(3)>")
    await console.get_by_test_id("reply-send").click()
    theirs = visitor.locator("[data-testid=chat-message][data-from=operator]")
    await expect(theirs).to_have_text(["<b>not bold</b> <img src=y onerror=alert(3)>"])
    assert await visitor.get_by_test_id("chat-messages").locator("img, b, script").count() == 0
    await visitor.screenshot(path=tmp_path / "visitor-hostile.png")
    await console.screenshot(path=tmp_path / "console-hostile.png")
    assert (seen_visitor, seen_console) == ([], [])
    await context.close()
