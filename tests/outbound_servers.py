"""Real providers on loopback for the outbound tests: an SMTP relay, a generic-SMS API, Twilio's
Messages API.

All run in threads of their own, so a job run by a burst worker in the test's thread (it
blocks that thread) still reaches them. Each records what it received and answers with the
codes queued in `answers`, then with success.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from tests.helpers import free_port


@dataclass
class Relay:
    """aiosmtpd handler: `answers` holds replies to DATA ("451 4.3.0 ...") used up in order."""

    port: int = 0
    answers: list[str] = field(default_factory=list)
    received: list[EmailMessage] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.answers:
            answer = self.answers.pop(0)
            self.refused.append(answer)
            return answer
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        mail["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.received.append(mail)
        return "250 2.0.0 stored"


def start_relay() -> Iterator[Relay]:
    relay = Relay(port=free_port())
    controller = Controller(relay, hostname="127.0.0.1", port=relay.port)
    controller.start()
    try:
        yield relay
    finally:
        controller.stop()


@dataclass
class SmsProvider:
    """POST /send: records (headers, raw body); `answers` holds HTTP statuses used up in order."""

    port: int = 0
    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"

    async def send(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((dict(request.headers), body))
        status = self.answers.pop(0) if self.answers else 200
        if status != 200:
            return web.json_response({"error": "refused"}, status=status)
        return web.json_response({"id": "prov-" + json.loads(body)["id"]})


def start_sms_provider() -> Iterator[SmsProvider]:
    provider = SmsProvider(port=free_port())
    app = web.Application()
    app.router.add_post("/send", provider.send)
    with _serving(app, provider.port):
        yield provider


@dataclass
class TwilioApi:
    """`POST /2010-04-01/Accounts/<sid>/Messages.json` checked as Twilio does: basic auth of
    the account SID and auth token, a form with To, From and Body. Records each accepted form;
    `answers` holds HTTP statuses used up in order, then 201 with a message SID."""

    account_sid: str
    token: str
    port: int = 0
    answers: list[int] = field(default_factory=list)
    received: list[dict[str, str]] = field(default_factory=list)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def messages(self, request: web.Request) -> web.Response:
        pair = base64.b64encode(f"{self.account_sid}:{self.token}".encode()).decode()
        if request.match_info["account"] != self.account_sid or request.headers.get(
            "Authorization"
        ) != ("Basic " + pair):
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        form = {name: str(value) for name, value in (await request.post()).items()}
        if not all(form.get(name) for name in ("To", "From", "Body")):
            return web.json_response({"code": 21604, "message": "Missing field"}, status=400)
        self.received.append(form)
        status = self.answers.pop(0) if self.answers else 201
        if status != 201:
            return web.json_response({"code": 20500, "message": f"said {status}"}, status=status)
        sid = f"SM{len(self.received):032d}"
        return web.json_response({"sid": sid, "status": "queued"}, status=201)


def start_twilio_api(account_sid: str, token: str) -> Iterator[TwilioApi]:
    api = TwilioApi(account_sid, token, port=free_port())
    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", api.messages)
    with _serving(app, api.port):
        yield api


@contextmanager
def _serving(app: web.Application, port: int) -> Iterator[None]:
    """`app` on loopback `port`, served by an event loop in a thread of its own."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@dataclass
class TwilioMedia:
    """GET `/2010-04-01/Accounts/<sid>/Messages/<MM>/Media/<ME>` behind Twilio's basic auth:
    `files` maps a media SID to (bytes, content type); `asked` counts the authorized GETs."""

    account_sid: str
    token: str
    port: int = 0
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def media(self, request: web.Request) -> web.Response:
        pair = base64.b64encode(f"{self.account_sid}:{self.token}".encode()).decode()
        if request.headers.get("Authorization") != "Basic " + pair:
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        self.asked.append(request.match_info["media"])
        data, kind = self.files[request.match_info["media"]]
        return web.Response(body=data, content_type=kind)


def start_twilio_media(account_sid: str, token: str) -> Iterator[TwilioMedia]:
    api = TwilioMedia(account_sid, token, port=free_port())
    app = web.Application()
    path = "/2010-04-01/Accounts/{account}/Messages/{message}/Media/{media}"
    app.router.add_get(path, api.media)
    with _serving(app, api.port):
        yield api


@pytest.fixture
def relay() -> Iterator[Relay]:
    yield from start_relay()


@pytest.fixture
def sms_provider() -> Iterator[SmsProvider]:
    yield from start_sms_provider()
