"""Chat under 1,000 idle visitor sockets on one gateway process, against a bare echo.

    python -m bench.chat [--sockets 1000] [--samples 300] [--durability always|everysec]

Starts a private embedded Valkey (appendfsync and `[redis].durability` set to `--durability`),
`bench.wsecho` (a bare aiohttp WebSocket echo) and `python -m gateway serve --processes 1` on
the sample config with the chat limits opened up; loopback only. Both servers hold `--sockets`
idle sockets; each chat sample is preceded by one echo round trip, so the baseline is measured
under the same machine load as the chat (this host is shared: p99 moves between runs). Prints:
- the echo's round-trip p99 over those interleaved pings (the baseline);
- visitor message -> the operator's SSE `message` event, p99, and its ratio to the baseline;
- operator reply (POST /api/cases/{id}/reply) -> the visitor's frame, p99, and its ratio;
- RSS per idle visitor socket (after hello) of the gateway, and of the bare echo.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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
from gateway.config import DURABILITIES

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


def bench_config(directory: str, durability: str) -> str:
    with open(CONFIG, encoding="utf-8") as file:
        text = file.read()
    for old, new in {**OPENED_UP, 'durability = "always"': f'durability = "{durability}"'}.items():
        assert old in text, old
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


class Echo:
    """The baseline: idle sockets on the bare echo, one of them pinged before each sample."""

    def __init__(self, idle: list[aiohttp.ClientWebSocketResponse], rss: float):
        self.idle, self.rss, self.times = idle, rss, list[float]()

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, server: Server, count: int) -> Echo:
        url = f"http://{HOST}:{server.port}/ws"
        before = tree_rss(server.proc.pid)[0]
        idle = await many(count, lambda: http.ws_connect(url))
        await asyncio.sleep(1)
        return cls(idle, (tree_rss(server.proc.pid)[0] - before) / count)

    async def ping(self) -> None:
        start = time.perf_counter()
        await self.idle[0].send_str(json.dumps({"type": "message", "text": "ping"}))
        await self.idle[0].receive()
        self.times.append(time.perf_counter() - start)

    def result(self) -> dict[str, float]:
        return {"p99": p99(self.times), "p50": p50(self.times), "rss": self.rss}

    async def close(self) -> None:
        for socket in self.idle:
            await socket.close()


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
    measured: list[tuple[Any, int]],
    events: asyncio.Queue[tuple[float, str, Any]],
    samples: int,
    echo: Echo,
) -> list[float]:
    times = []
    for i in range(samples):
        ws, case_id = measured[i % len(measured)]
        await echo.ping()
        start = time.perf_counter()
        await ws.send_json({"type": "message", "text": f"question {i}"})
        at, data = await take(events, "message")
        assert data["case_id"] == case_id
        times.append(at - start)
        await frame(ws)  # the echo of the visitor's own message
    return times


async def to_visitor(
    http: aiohttp.ClientSession,
    base: str,
    measured: list[tuple[Any, int]],
    samples: int,
    echo: Echo,
) -> list[float]:
    times = []
    for i in range(samples):
        ws, case_id = measured[i % len(measured)]
        await echo.ping()
        # The frame may come before the POST's answer: its arrival is timed, not the answer's.
        arrival = asyncio.create_task(arrived(ws))
        start = time.perf_counter()
        async with http.post(
            f"{base}/api/cases/{case_id}/reply", json={"text": f"answer {i}"}, headers=ANNA
        ) as resp:
            assert resp.status == 202, await resp.text()
        at, got = await arrival
        times.append(at - start)
        assert got["from"] == "operator", got
    return times


async def arrived(ws: aiohttp.ClientWebSocketResponse) -> tuple[float, dict[str, Any]]:
    got = await frame(ws)
    return time.perf_counter(), got


async def gateway_run(
    http: aiohttp.ClientSession, server: Server, args: Any, echo: Echo
) -> dict[str, float]:
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
    gc.collect()
    gc.freeze()  # this client's own full collections (100 ms with 2,000 sockets) stay out
    messages = await to_operator(measured, events, args.samples, echo)
    replies = await to_visitor(http, base, measured, args.samples, echo)
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
        baseline = await Echo.open(http, echo, args.sockets)
        chat = await gateway_run(http, gateway, args, baseline)
        await baseline.close()
    return baseline.result(), chat


def report(baseline: dict[str, float], chat: dict[str, float], args: Any) -> None:
    ms = 1000
    print(
        f"chat bench: {args.sockets} idle sockets, {args.samples} samples each, "
        f"durability {args.durability}, {loop_name()}"
    )
    echo = f"{baseline['p99'] * ms:7.2f} ms (p50 {baseline['p50'] * ms:.2f})"
    print(f"  bare echo round trip p99            {echo}")
    for name, key in (
        ("visitor message -> SSE event", "message"),
        ("reply POST -> visitor frame", "reply"),
    ):
        ratio = chat[key] / baseline["p99"]
        median = chat[f"{key}_p50"]
        print(
            f"  {name:<36}{chat[key] * ms:7.2f} ms = {ratio:.2f}x the echo"
            f" (p50 {median * ms:.2f} ms = {median / baseline['p50']:.2f}x the echo's p50)"
        )
    print(f"  RSS per idle socket: gateway {kib(chat['rss'])}, bare echo {kib(baseline['rss'])}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chat", description=__doc__)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--durability", choices=DURABILITIES, default=DURABILITIES[0])
    args = parser.parse_args()
    with private_valkey() as (redis_url, client), tempfile.TemporaryDirectory() as tmp:
        client.config_set("appendfsync", args.durability)  # what [redis].durability sets
        echo = start_echo(tmp)
        gateway = start_gateway(bench_config(tmp, args.durability), redis_url, tmp)
        try:
            baseline, chat = asyncio.run(measure(echo, gateway, args))
        finally:
            gateway.stop()
            echo.stop()
    report(baseline, chat, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
