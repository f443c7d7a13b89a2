"""The baseline for bench/chat.py: a bare aiohttp WebSocket echo on the gateway's event loop.

`python -m bench.wsecho --port P`; `GET /readyz` answers once it listens.
"""

from __future__ import annotations

import argparse

from aiohttp import WSMsgType, web

from gateway.process.acceptor import run, stop_event


async def echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30.0)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
    return ws


async def readyz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ready"})


async def serve(port: int) -> None:
    stop = stop_event()
    app = web.Application()
    app.router.add_get("/ws", echo)
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wsecho", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    run(serve(parser.parse_args().port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
