"""Chat under 1,000 idle visitor sockets on one gateway process, against a bare echo.

    python -m bench.chat [--sockets 1000] [--samples 300]

Starts a private embedded Valkey, `bench.wsecho` (a bare aiohttp WebSocket echo) and
`python -m gateway serve --processes 1` on the sample config with the chat limits opened up;
loopback only. Prints, measured in this one run:
- the echo's round-trip p99 with `--sockets` idle sockets connected to it (the baseline);
- visitor message -> the operator's SSE `message` event, p99, and its ratio to the baseline;
- operator reply (POST /api/cases/{id}/reply) -> the visitor's frame, p99, and its ratio;
- RSS per idle visitor socket (after hello) of the gateway, and of the bare echo.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bench.common import CONFIG, HOST, Server, free_port, kib, loop_name, start_server, tree_rss
from bench.common import valkey as private_valkey

ORIGIN = {"Origin": "http://127.0.0.1:8080"}  # the sample's allowed origin
ANNA = {"Authorization": "Bearer sample-token-anna"}
MEASURED = 3  # anna's chat capacity in the sample: these cases are hers, the rest queue
OPEN_AT_ONCE = 50
OPENED_UP = {
    "messages_per_minute = 30": "messages_per_minute = 1000000",
    "sessions_per_ip = 20": "sessions_per_ip = 1000000",
}


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def p50(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def bench_config(directory: str) -> str:
    with open(CONFIG, encoding="utf-8") as file:
        text = file.read()
    for old, new in OPENED_UP.items():
        text = text.replace(old, new)
    path = os.path.join(directory, "config.toml")
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    return path


def start_gateway(config: str, redis_url: str, log_dir: str) -> Server:
    port = free_port()
    argv = [
        sys.executable, "-m", "gateway", "serve", "--config", config,
        "--http", f"{HOST}:{port}", "--smtp", f"{HOST}:{free_port()}",
        "--redis-url", redis_url, "--processes", "1", "--workers", "0",
    ]  # fmt: skip
    return start_server("gateway-chat", argv, port, log_dir)


def start_echo(log_dir: str) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "bench.wsecho", "--port", str(port)]
    return start_server("wsecho", argv, port, log_dir)


async def frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((await asyncio.wait_for(ws.receive(), 30)).data)
    return found


async def many(count: int, open_one: Callable[[], Awaitable[Any]]) -> list[Any]:
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def bounded() -> Any:
        async with gate:
            return await open_one()

    return list(await asyncio.gather(*(bounded() for _ in range(count))))


async def echo_run(http: aiohttp.ClientSession, server: Server, args: Any) -> dict[str, float]:
    url = f"http://{HOST}:{server.port}/ws"
    before = tree_rss(server.proc.pid)[0]
    idle = await many(args.sockets, lambda: http.ws_connect(url))
    await asyncio.sleep(1)
    per_socket = (tree_rss(server.proc.pid)[0] - before) / args.sockets
    ws, times = idle[0], []
    for i in range(args.samples):
        start = time.perf_counter()
        await ws.send_str(json.dumps({"type": "message", "text": f"ping {i}"}))
        await ws.receive()
        times.append(time.perf_counter() - start)
    for socket in idle:
        await socket.close()
    return {"p99": p99(times), "p50": p50(times), "rss": per_socket}


async def visitor(http: aiohttp.ClientSession, base: str) -> tuple[Any, dict[str, Any]]:
    ws = await http.ws_connect(f"{base}/chat/ws", headers=ORIGIN)
    await ws.send_json({"type": "hello"})
    welcome = await frame(ws)
    await frame(ws)  # status
    return ws, welcome


async def sse_events(
    resp: aiohttp.ClientResponse, into: asyncio.Queue[tuple[float, str, Any]]
) -> None:
    kind = ""
    async for line in resp.content:
        text = line.decode().rstrip("\n")
        if text.startswith("event: "):
            kind = text[7:]
        elif text.startswith("data: "):
            await into.put((time.perf_counter(), kind, json.loads(text[6:])))


async def take(events: asyncio.Queue[tuple[float, str, Any]], kind: str) -> tuple[float, Any]:
    while True:
        at, found, data = await asyncio.wait_for(events.get(), 30)
        if found == kind:
            return at, data


async def operator_cases(
    http: aiohttp.ClientSession, base: str, events: asyncio.Queue[tuple[float, str, Any]]
) -> list[tuple[Any, int]]:
    """The measured visitors, their cases offered to anna and accepted."""
    measured = []
    for _ in range(MEASURED):
        ws, welcome = await visitor(http, base)
        _, offer = await take(events, "offered")
        accept = {"offer_id": offer["offer_id"]}
        async with http.post(
            f"{base}/api/cases/{offer['case_id']}/accept", json=accept, headers=ANNA
        ) as resp:
            assert resp.status == 200, await resp.text()
        measured.append((ws, welcome["case_id"]))
    return measured


async def to_operator(
    measured: list[tuple[Any, int]], events: asyncio.Queue[tuple[float, str, Any]], samples: int
) -> list[float]:
    times = []
    for i in range(samples):
        ws, case_id = measured[i % len(measured)]
        start = time.perf_counter()
        await ws.send_json({"type": "message", "text": f"question {i}"})
        at, data = await take(events, "message")
        assert data["case_id"] == case_id
        times.append(at - start)
        await frame(ws)  # the echo of the visitor's own message
    return times


async def to_visitor(
    http: aiohttp.ClientSession, base: str, measured: list[tuple[Any, int]], samples: int
) -> list[float]:
    times = []
    for i in range(samples):
        ws, case_id = measured[i % len(measured)]
        start = time.perf_counter()
        async with http.post(
            f"{base}/api/cases/{case_id}/reply", json={"text": f"answer {i}"}, headers=ANNA
        ) as resp:
            assert resp.status == 201, await resp.text()
        got = await frame(ws)
        times.append(time.perf_counter() - start)
        assert got["from"] == "operator", got
    return times


async def gateway_run(http: aiohttp.ClientSession, server: Server, args: Any) -> dict[str, float]:
    base = f"http://{HOST}:{server.port}"
    async with http.put(
        f"{base}/api/operators/anna/presence", json={"presence": "available"}, headers=ANNA
    ) as resp:
        assert resp.status == 200
    stream = await http.get(f"{base}/api/operators/anna/events", headers=ANNA, timeout=None)
    events: asyncio.Queue[tuple[float, str, Any]] = asyncio.Queue()
    reader = asyncio.create_task(sse_events(stream, events))
    before = tree_rss(server.proc.pid)[0]
    measured = await operator_cases(http, base, events)
    idle = await many(args.sockets - MEASURED, lambda: visitor(http, base))
    await asyncio.sleep(1)
    per_socket = (tree_rss(server.proc.pid)[0] - before) / args.sockets
    messages = await to_operator(measured, events, args.samples)
    replies = await to_visitor(http, base, measured, args.samples)
    result = {
        "message": p99(messages),
        "message_p50": p50(messages),
        "reply": p99(replies),
        "reply_p50": p50(replies),
        "rss": per_socket,
    }
    reader.cancel()
    stream.close()
    for ws, _ in [*measured, *idle]:
        await ws.close()
    return result


async def measure(echo: Server, gateway: Server, args: Any) -> tuple[dict[str, float], ...]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        baseline = await echo_run(http, echo, args)
        chat = await gateway_run(http, gateway, args)
    return baseline, chat


def report(baseline: dict[str, float], chat: dict[str, float], args: Any) -> None:
    ms = 1000
    print(f"chat bench: {args.sockets} idle sockets, {args.samples} samples each, {loop_name()}")
    echo = f"{baseline['p99'] * ms:7.2f} ms (p50 {baseline['p50'] * ms:.2f})"
    print(f"  bare echo round trip p99            {echo}")
    for name, key in (
        ("visitor message -> SSE event", "message"),
        ("reply POST -> visitor frame", "reply"),
    ):
        ratio = chat[key] / baseline["p99"]
        median = chat[f"{key}_p50"] * ms
        print(f"  {name:<36}{chat[key] * ms:7.2f} ms (p50 {median:.2f}) = {ratio:.2f}x the echo")
    print(f"  RSS per idle socket: gateway {kib(chat['rss'])}, bare echo {kib(baseline['rss'])}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chat", description=__doc__)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    with private_valkey() as (redis_url, _), tempfile.TemporaryDirectory() as tmp:
        echo = start_echo(tmp)
        gateway = start_gateway(bench_config(tmp), redis_url, tmp)
        try:
            baseline, chat = asyncio.run(measure(echo, gateway, args))
        finally:
            gateway.stop()
            echo.stop()
    report(baseline, chat, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
