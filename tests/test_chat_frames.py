"""Visitor frames parsed without any I/O, and the [channels.chat] section."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from channels.chat.frames import Hello, Message, Rejected, parse
from channels.errors import ConfigError
from gateway.config import Config
from tests.conftest import SAMPLE


def test_hello_and_message_become_typed_values() -> None:
    raw = '{"type":"hello","name":" Olga ","phone":"8 916 123-45-67","email":"o@x.ru","since":3}'
    assert parse(raw, 10) == Hello(name="Olga", phone="8 916 123-45-67", email="o@x.ru", since=3)
    session = "A" * 32
    assert parse(f'{{"type":"hello","session":"{session}"}}', 10) == Hello(session=session)
    assert parse('{"type":"message","text":"hi","id":"m1"}', 10) == Message("hi", "m1")
    assert parse('{"type":"message","text":"0123456789"}', 10) == Message("0123456789")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"type":"message","text":"01234567890"}', "message_too_long"),
        ('{"type":"hello","since":true}', "invalid_field"),
        ('{"type":"hello","since":-2}', "invalid_field"),
        ('{"type":"hello","session":"has spaces in it, too many"}', "invalid_field"),
        ('{"type":"hello","phone":["+7"]}', "invalid_field"),
        ('{"type":"message","text":""}', "missing_field"),
        ('{"type":1}', "unknown_type"),
        ("", "malformed_frame"),
    ],
)
def test_bad_frames_are_rejected_with_a_code(raw: str, code: str) -> None:
    found = parse(raw, 10)
    assert isinstance(found, Rejected) and found.code == code and found.message


def test_the_chat_section_is_read_and_checked(write_config: Callable[[str], Config]) -> None:
    sample = SAMPLE.read_text()
    chat = write_config(sample).channels.chat
    assert chat is not None and chat.allowed_origins == {"http://127.0.0.1:8080"}
    assert (chat.max_message_chars, chat.messages_per_minute, chat.sessions_per_ip) == (
        4000,
        30,
        20,
    )
    start = sample.index("[channels.chat]")
    end = sample.index("sessions_per_ip", start)
    end = sample.index("\n", end)
    assert write_config(sample[:start] + sample[end:]).channels.chat is None
    broken = sample[:start] + "[channels.chat]\nmax_message_chars = 0\nsmile = 1\n" + sample[end:]
    with pytest.raises(ConfigError) as caught:
        write_config(broken)
    lines = "\n".join(caught.value.problems)
    assert "channels.chat.allowed_origins: missing" in lines
    assert "channels.chat.max_message_chars: must be at least 1" in lines
    assert "channels.chat.smile: unknown key" in lines
