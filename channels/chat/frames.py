"""Visitor frames of `GET /chat/ws` (SPEC §5) parsed into typed values or a `Rejected` code.

Frames the gateway sends are built here too, so their shape is written in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from channels import fastjson, validate
from channels.errors import InvalidField

MAX_FIELD = 256  # name, phone, e-mail, session: short by nature
SESSION = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_SINCE = 2**31


@dataclass(frozen=True)
class Hello:
    name: str = ""
    phone: str = ""
    email: str = ""
    session: str = ""  # empty: a new session
    since: int = -1  # timeline position of the last message the visitor has; -1: none


@dataclass(frozen=True)
class Message:
    text: str
    id: str = ""  # the client's own id for this message; repeating it stores nothing twice


@dataclass(frozen=True)
class Rejected:
    code: str
    message: str


Frame = Hello | Message | Rejected


def parse(raw: str, max_chars: int) -> Frame:
    """One text frame; `max_chars` bounds a message's text."""
    try:
        data = fastjson.loads(raw)
    except ValueError:  # UnicodeDecodeError included
        return Rejected("malformed_frame", "A frame must be one JSON object.")
    if not isinstance(data, dict):
        return Rejected("malformed_frame", "A frame must be one JSON object.")
    kind = data.get("type")
    try:
        if kind == "hello":
            return _hello(data)
        if kind == "message":
            return _message(data, max_chars)
    except InvalidField as error:
        return Rejected(error.code, error.message)
    return Rejected("unknown_type", "'type' must be 'hello' or 'message'.")


def _short(data: dict[str, Any], name: str) -> str:
    value = validate.text(data.get(name), name).strip()
    if len(value) > MAX_FIELD:
        raise InvalidField(f"'{name}' is longer than {MAX_FIELD} characters.", field=name)
    return value


def _hello(data: dict[str, Any]) -> Hello:
    session = _short(data, "session")
    if session and not SESSION.fullmatch(session):
        raise InvalidField("'session' is not a session id.", field="session")
    email = _short(data, "email")
    if email and ("@" not in email or any(ch.isspace() for ch in email)):
        raise InvalidField("'email' is not an e-mail address.", field="email")
    since = data.get("since", -1)
    if isinstance(since, bool) or not isinstance(since, int) or not -1 <= since < MAX_SINCE:
        raise InvalidField("'since' must be a message id from this chat.", field="since")
    name, phone = _short(data, "name"), _short(data, "phone")
    return Hello(name=name, phone=phone, email=email, session=session, since=since)


def _message(data: dict[str, Any], max_chars: int) -> Message | Rejected:
    text = validate.text(data.get("text"), "text", required=True, allow_empty=False)
    if not text.strip():
        raise InvalidField("'text' must not be empty.", field="text")
    if len(text) > max_chars:
        return Rejected("message_too_long", f"A message may have at most {max_chars} characters.")
    return Message(text=text, id=_short(data, "id"))


def error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


def message(sender: str, text: str, at: str | None, position: int) -> dict[str, Any]:
    """`id` (additive) is the message's timeline position: `since` in a later hello."""
    return {"type": "message", "from": sender, "text": text, "at": at, "id": position}
