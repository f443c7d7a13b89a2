"""Twilio's REST side against real loopback HTTP servers that check requests as Twilio would:
outbound SMS (Messages.json) and MMS media downloads (credentials never leave the API host)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.outbound import Deferred, Failed
from channels.settings import Secret
from channels.twilio import media, outbound
from channels.twilio_settings import TwilioSettings
from tests.helpers import free_port

SID, TOKEN = "AC" + "1" * 32, "secret-token"
AUTH = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
Server = Callable[..., Awaitable[TestServer]]


def settings_for(server: TestServer) -> TwilioSettings:
    return TwilioSettings(SID, Secret(TOKEN), str(server.make_url("")).rstrip("/"))


async def twilio_api(
    aiohttp_server: Server, answers: list[web.Response]
) -> tuple[TestServer, list[Any]]:
    """A Messages.json endpoint answering `answers` in turn; it records what it was sent."""
    seen: list[Any] = []

    async def messages(request: web.Request) -> web.Response:
        seen.append((request.headers.get("Authorization"), dict(await request.post())))
        if request.headers.get("Authorization") != AUTH:
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        return answers.pop(0)

    app = web.Application()
    app.router.add_post(MESSAGES, messages)
    return await aiohttp_server(app), seen


async def test_send_sms_posts_the_form_with_basic_auth(aiohttp_server: Server) -> None:
    created = web.json_response({"sid": "SM" + "2" * 32, "status": "queued"}, status=201)
    server, seen = await twilio_api(aiohttp_server, [created])
    sid = await asyncio.to_thread(
        outbound.send_sms, settings_for(server), "+79161234567", "+74950000010", "Hello"
    )
    assert sid == "SM" + "2" * 32
    assert seen == [(AUTH, {"To": "+79161234567", "From": "+74950000010", "Body": "Hello"})]


@pytest.mark.parametrize(
    ("status", "error"),
    [(503, Deferred), (500, Deferred), (429, Deferred),
     (400, Failed), (404, Failed)],
)  # fmt: skip
async def test_send_sms_sorts_refusals(aiohttp_server: Server, status: int, error: type) -> None:
    refusal = web.json_response({"code": 21211, "message": "Invalid 'To'"}, status=status)
    server, seen = await twilio_api(aiohttp_server, [refusal])
    with pytest.raises(error, match=str(status)):
        await asyncio.to_thread(outbound.send_sms, settings_for(server), "+7916", "+7495", "x")
    assert len(seen) == 1  # the sender never retries itself: the job decides


async def test_a_wrong_token_fails_for_good(aiohttp_server: Server) -> None:
    server, _ = await twilio_api(aiohttp_server, [])
    wrong = TwilioSettings(SID, Secret("other"), settings_for(server).api_base)
    with pytest.raises(Failed, match="401"):
        await asyncio.to_thread(outbound.send_sms, wrong, "+79161234567", "+7495", "x")


async def test_timeouts_and_refused_connections_are_deferred(aiohttp_server: Server) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({"sid": "SMlate"})

    app = web.Application()
    app.router.add_post(MESSAGES, slow)
    server = await aiohttp_server(app)
    with pytest.raises(Deferred, match="unreachable"):
        await asyncio.to_thread(
            outbound.send_sms, settings_for(server), "+7916", "+7495", "x", timeout=0.2
        )
    closed = TwilioSettings(SID, Secret(TOKEN), f"http://127.0.0.1:{free_port()}")
    with pytest.raises(Deferred):
        await asyncio.to_thread(outbound.send_sms, closed, "+7916", "+7495", "x")


def redirect(location: str, status: int = 302) -> Callable[[web.Request], web.Response]:
    return lambda request: web.Response(status=status, headers={"Location": location})


async def media_host(
    aiohttp_server: Server, routes: dict[str, Any]
) -> tuple[TestServer, list[Any]]:
    seen: list[Any] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append((request.path, request.headers.get("Authorization")))
        answer = routes[request.path]
        return answer(request) if callable(answer) else answer

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    return await aiohttp_server(app), seen


async def test_media_is_downloaded_with_credentials(aiohttp_server: Server) -> None:
    photo = web.Response(body=b"\xff\xd8jpeg", content_type="image/jpeg")
    server, seen = await media_host(aiohttp_server, {"/2010-04-01/Media/ME1": photo})
    settings = settings_for(server)
    url = f"{settings.api_base}/2010-04-01/Media/ME1"
    assert await asyncio.to_thread(media.download, settings, url) == (b"\xff\xd8jpeg", "image/jpeg")
    assert seen == [("/2010-04-01/Media/ME1", AUTH)]


async def test_media_from_any_other_host_is_refused_untouched(aiohttp_server: Server) -> None:
    api, _ = await media_host(aiohttp_server, {})
    other, seen = await media_host(aiohttp_server, {"/x": web.Response(body=b"secret")})
    for url in (
        str(other.make_url("/x")),
        str(other.make_url("/x")).replace("127.0.0.1", "localhost"),
        f"{settings_for(api).api_base}@127.0.0.1:{other.port}/x",
        "file:///etc/passwd",
    ):
        with pytest.raises(Failed, match="not on"):
            await asyncio.to_thread(media.download, settings_for(api), url)
    assert seen == []


async def test_a_redirect_off_the_api_host_is_followed_without_credentials(
    aiohttp_server: Server,
) -> None:
    cdn, cdn_seen = await media_host(
        aiohttp_server, {"/file": web.Response(body=b"png", content_type="image/png")}
    )
    hops = {
        "/2010-04-01/Media/ME2": redirect("/2010-04-01/Media/ME2/raw"),
        "/2010-04-01/Media/ME2/raw": redirect(str(cdn.make_url("/file")), 307),
    }
    api, api_seen = await media_host(aiohttp_server, hops)
    settings = settings_for(api)
    found = await asyncio.to_thread(
        media.download, settings, f"{settings.api_base}/2010-04-01/Media/ME2"
    )
    assert found == (b"png", "image/png")
    assert api_seen == [("/2010-04-01/Media/ME2", AUTH), ("/2010-04-01/Media/ME2/raw", AUTH)]
    assert cdn_seen == [("/file", None)]  # the account's credentials stayed home


async def test_endless_redirects_and_oversized_media_fail(aiohttp_server: Server) -> None:
    routes = {"/loop": redirect("/loop"), "/big": web.Response(body=b"x" * 101)}
    server, _ = await media_host(aiohttp_server, routes)
    settings = settings_for(server)
    with pytest.raises(Failed, match="redirects"):
        await asyncio.to_thread(media.download, settings, f"{settings.api_base}/loop")
    with pytest.raises(Failed, match="larger"):
        await asyncio.to_thread(media.download, settings, f"{settings.api_base}/big", max_bytes=100)
