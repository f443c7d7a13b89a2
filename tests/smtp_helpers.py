"""Helpers for tests that send mail through the gateway's real SMTP server with smtplib."""

from __future__ import annotations

import asyncio
import dataclasses
import email.policy
import smtplib
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.http.app import build_app
from gateway.smtp.lifecycle import smtp_ctx
from routing.keys import Keys
from tests.helpers import free_port

ADMIN = {"Authorization": "Bearer change-me-admin"}


def smtp_app(config: Config, redis_url: str, keys: Keys) -> tuple[web.Application, int]:
    """The application as an acceptor runs it (with its SMTP server) on a free SMTP port."""
    port = free_port()
    app = build_app(dataclasses.replace(config, smtp=("127.0.0.1", port)), redis_url, keys)
    app.cleanup_ctx.append(smtp_ctx)
    return app, port


def mail(
    text: str = "Hello, my printer is on fire",
    *,
    sender: str = "Ivan Petrov <ivan@example.org>",
    to: str = "support@example.com",
    subject: str = "Printer",
    message_id: str | None = None,
    **headers: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    return msg


def wire(message: EmailMessage) -> bytes:
    """The bytes as a mail server sends them (CRLF line ends)."""
    return message.as_bytes(policy=email.policy.SMTP)


def send_sync(
    port: int, raw: bytes, mail_from: str = "ivan@example.org", to: tuple[str, ...] = ()
) -> dict[str, tuple[int, bytes]]:
    """One SMTP transaction; raises smtplib's errors for refusals like any mail server sees."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        return client.sendmail(mail_from, list(to or ("support@example.com",)), raw)


async def send(port: int, message: EmailMessage | bytes, **kwargs: Any) -> None:
    raw = message if isinstance(message, bytes) else wire(message)
    await asyncio.to_thread(send_sync, port, raw, **kwargs)


async def all_cases(client: TestClient) -> list[dict[str, Any]]:
    """Every case with its timeline, oldest first."""
    page = await (await client.get("/api/cases?limit=200", headers=ADMIN)).json()
    ids = sorted(case["id"] for case in page["cases"])
    return [await (await client.get(f"/api/cases/{i}", headers=ADMIN)).json() for i in ids]


def messages(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The mails received on the case (an acknowledgement is an `out` message besides them)."""
    timeline = case["timeline"]
    return [e for e in timeline if e["kind"] == "message" and e["direction"] == "in"]
