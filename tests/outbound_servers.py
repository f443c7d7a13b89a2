"""Real providers on loopback for the outbound tests: an SMTP relay and a generic-SMS API.

Both run in threads of their own, so a job run by a burst worker in the test's thread (it
blocks that thread) still reaches them. Each records what it received and answers with the
codes queued in `answers`, then with success.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

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
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/send", provider.send)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", provider.port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
