"""One visitor's socket: hello, messages, limits. Every refusal is an `error` frame."""

from __future__ import annotations

import secrets
import time
from typing import Any

from aiohttp import web

from channels import fastjson
from channels.chat import frames
from channels.chat_settings import ChatSettings
from channels.message import InboundMessage
from channels.phones import normalize
from gateway.chat import sessions
from gateway.chat.deliver import replay
from gateway.chat.hub import Hub
from gateway.chat.sessions import Session
from gateway.runtime.state import Runtime
from gateway.views import rfc3339
from routing.errors import RoutingRefused

ANONYMOUS_SUBJECT = "Website chat"


class Visitor:
    def __init__(self, runtime: Runtime, hub: Hub, ws: web.WebSocketResponse, address: str):
        self.runtime, self.hub, self.ws, self.address = runtime, hub, ws, address
        self.session: Session | None = None
        self.online = True

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_json(frame, dumps=fastjson.dumps)

    async def receive(self, raw: str, settings: ChatSettings) -> None:
        frame = frames.parse(raw, settings.max_message_chars)
        if isinstance(frame, frames.Rejected):
            await self.send(frames.error(frame.code, frame.message))
        elif isinstance(frame, frames.Hello):
            await self.hello(frame, settings)
        elif self.session is None:
            await self.send(frames.error("hello_first", "Send a hello before any message."))
        else:
            await self.message(self.session, frame, settings.messages_per_minute)

    def leave(self) -> None:
        if self.session is not None:
            self.hub.leave(self.session.case_id, self.ws)

    async def hello(self, hello: frames.Hello, settings: ChatSettings) -> None:
        if self.session is not None:  # later hellos tell who the visitor is (offline form)
            await self._identify(self.session, hello)
            await self._welcome(self.session)
            return
        session = await sessions.load(self.runtime, hello.session) if hello.session else None
        if session is not None:
            await self._identify(session, hello)
        elif not await sessions.may_open(self.runtime, self.address, settings.sessions_per_ip):
            message = f"At most {settings.sessions_per_ip} new chats an hour from one address."
            await self.send(frames.error("too_many_sessions", message))
            return
        else:
            session = await self._open(hello)
        self._attach(session)
        await self._welcome(session)
        if hello.session == session.token:
            await self._replay(session, hello.since)
        await self._status(session, force=True)

    def _attach(self, session: Session) -> None:
        self.leave()
        self.session = session
        self.hub.join(session.case_id, self.ws)

    async def _welcome(self, session: Session) -> None:
        await self.send({"type": "welcome", "session": session.token, "case_id": session.case_id})

    async def _replay(self, session: Session, since: int) -> None:
        for frame in await replay(self.runtime, session.case_id, since):
            await self.send(frame)
            if frame["from"] == "operator":
                self.hub.sent(session.case_id, frame["id"])

    async def _status(self, session: Session, *, force: bool = False) -> None:
        online = await sessions.online(self.runtime, session.case_id)
        if force or online != self.online:
            await self.send({"type": "status", "online": online})
        self.online = online

    def _phone(self, hello: frames.Hello) -> str:
        return normalize(hello.phone, self.runtime.config.default_region) if hello.phone else ""

    async def _identify(self, session: Session, hello: frames.Hello) -> None:
        phone, email = self._phone(hello), hello.email.lower()
        if phone or email:
            await self.runtime.scripts.chat_identity(_now(), session.contact_id, phone, email)

    async def _open(self, hello: frames.Hello) -> Session:
        token = secrets.token_urlsafe(24)
        opened = InboundMessage(
            channel="chat",
            dedupe_scope="chat",
            delivery_id=None,  # the token is new: nothing to repeat
            sender_phone=self._phone(hello),
            sender_email=hello.email,
            sender_name=hello.name,
            # the default subject names the contact; an anonymous visitor has nothing to name
            subject="" if hello.name or hello.phone or hello.email else ANONYMOUS_SUBJECT,
        )
        result = await self.runtime.intake.submit(self.runtime.config, opened)
        session = Session(token, result.case_id, result.contact_id)
        await sessions.save(self.runtime, session)
        return session

    async def message(self, session: Session, frame: frames.Message, per_minute: int) -> None:
        inbound = InboundMessage(
            channel="chat",
            dedupe_scope=f"chat:{session.token}",
            delivery_id=frame.id or None,  # the client's id makes its resend harmless
            text=frame.text,
            threading="case",
            case_hint=session.case_id,
        )
        try:  # counted and stored in one step (gateway/intake.py)
            result, position = await self.runtime.intake.submit_chat(
                self.runtime.config, inbound, session.token, per_minute
            )
        except RoutingRefused as error:
            if error.code != "rate_limited":
                raise
            await self.send(frames.error(error.code, f"At most {per_minute} messages a minute."))
            return
        if result.case_id != session.case_id:  # resolved too long ago: a new, related case
            session = Session(session.token, result.case_id, result.contact_id)
            await sessions.save(self.runtime, session)
            self._attach(session)
            await self._welcome(session)
        await self.send(frames.message("visitor", frame.text, rfc3339(_now()), position))
        if not self.online:
            await self._status(session)


def _now() -> int:
    return int(time.time() * 1000)
