"""Whatever a visitor sends, the socket answers with frames and stays usable."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from gateway.config import Config
from tests.chat_client import ORIGIN, frame, say, visit
from tests.conftest import SAMPLE, GatewayFactory

LIMITS = {
    "max_message_chars = 4000": "max_message_chars = 10",
    "messages_per_minute = 30": "messages_per_minute = 2",
    "sessions_per_ip = 20": "sessions_per_ip = 2",
}


def limited(write_config: Callable[[str], Config]) -> Config:
    text = SAMPLE.read_text()
    for old, new in LIMITS.items():
        assert old in text
        text = text.replace(old, new)
    return write_config(text)


async def test_limits_answer_error_frames_and_the_socket_goes_on(
    make_gateway: GatewayFactory, write_config: Callable[[str], Config]
) -> None:
    gateway = await make_gateway(limited(write_config))
    ws, welcome, _ = await visit(gateway)
    await ws.send_json({"type": "message", "text": "x" * 11})
    assert (await frame(ws))["code"] == "message_too_long"
    await say(ws, "one")
    await say(ws, "two")
    await ws.send_json({"type": "message", "text": "three"})
    refused = await frame(ws)
    assert (refused["type"], refused["code"]) == ("error", "rate_limited")
    assert refused["message"]
    await ws.send_json({"type": "hello"})  # still open and answering
    assert (await frame(ws))["case_id"] == welcome["case_id"]
    # The second session from this address is the last one this hour.
    other, _, _ = await visit(gateway)
    third = await gateway.ws_connect("/chat/ws", headers=ORIGIN)
    await third.send_json({"type": "hello"})
    assert (await frame(third))["code"] == "too_many_sessions"
    await third.send_json({"type": "hello", "session": welcome["session"]})  # resuming is fine
    assert (await frame(third))["case_id"] == welcome["case_id"]
    for socket in (ws, other, third):
        await socket.close()


async def test_limits_hold_across_processes(
    make_gateway: GatewayFactory, write_config: Callable[[str], Config]
) -> None:
    config = limited(write_config)
    one, two = await make_gateway(config), await make_gateway(config)
    ws, welcome, _ = await visit(one)
    await say(ws, "one")
    again = await two.ws_connect("/chat/ws", headers=ORIGIN)
    await again.send_json({"type": "hello", "session": welcome["session"]})
    assert (await frame(again))["type"] == "welcome"
    while (await frame(again))["type"] != "status":
        pass
    await say(again, "two")
    await again.send_json({"type": "message", "text": "three"})
    assert (await frame(again))["code"] == "rate_limited"
    await ws.close()
    await again.close()


MALFORMED = [
    ("not json", "malformed_frame"),
    ("[1, 2]", "malformed_frame"),
    ('"hello"', "malformed_frame"),
    ('{"type": "wave"}', "unknown_type"),
    ("{}", "unknown_type"),
    ('{"type": "message"}', "missing_field"),
    ('{"type": "message", "text": 5.5}', "invalid_field"),
    ('{"type": "message", "text": "   "}', "invalid_field"),
    ('{"type": "message", "text": "nul \\u0000"}', "invalid_field"),
    # orjson refuses a lone surrogate while parsing, the standard library's json after
    ('{"type": "message", "text": "\\ud800"}', ("malformed_frame", "invalid_field")),
    ('{"type": "hello", "session": "short"}', "invalid_field"),
    ('{"type": "hello", "since": "x"}', "invalid_field"),
    ('{"type": "hello", "email": "no at sign"}', "invalid_field"),
    ('{"type": "hello", "name": ' + '"' + "n" * 300 + '"}', "invalid_field"),
    ('{"type": "message", "text": "' + "y" * 200_000 + '"}', "message_too_long"),
    ("[" * 100_000 + "]" * 100_000, "malformed_frame"),
    ('{"type": "message", "text": NaN}', "malformed_frame"),
]


async def test_malformed_frames_get_error_frames_and_the_socket_keeps_working(
    gateway: TestClient,
) -> None:
    ws = await gateway.ws_connect("/chat/ws", headers=ORIGIN)
    await ws.send_json({"type": "message", "text": "before hello"})
    assert (await frame(ws))["code"] == "hello_first"
    await ws.send_bytes(b"\x00\x01binary")
    assert (await frame(ws))["code"] == "binary_frame"
    for raw, code in MALFORMED:
        await ws.send_str(raw)
        got = await frame(ws)
        assert got["type"] == "error", raw[:60]
        assert got["code"] in (code if isinstance(code, tuple) else (code,)), raw[:60]
        assert isinstance(got["message"], str) and got["message"]
    await ws.send_json({"type": "hello"})
    assert (await frame(ws))["type"] == "welcome"
    assert (await frame(ws))["type"] == "status"
    await say(ws, "works after all that")
    assert not ws.closed
    await ws.close()
    assert (await ws.receive()).type in (WSMsgType.CLOSED, WSMsgType.CLOSE)
