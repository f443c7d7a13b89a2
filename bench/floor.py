"""The floor: the cheapest honest "store a message" on the gateway's stack.

A bare aiohttp app (same event loop choice, same redis-py client) whose handler reads the body
and runs one EVALSHA that writes a hash and pushes its id to a list. No logging, no parsing.
`python -m bench.floor --port P --redis-url URL`; `GET /readyz` answers once Valkey does.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from aiohttp import web
from redis.commands.core import AsyncScript

from gateway.process.acceptor import run, stop_event

STORE = r"""
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2] .. id, 'body', ARGV[1], 'at', ARGV[2])
redis.call('RPUSH', KEYS[3], id)
return id
"""
KEYS = ["floor:seq", "floor:msg:", "floor:inbox"]
CLIENT = web.AppKey("client", aioredis.Redis)
SCRIPT = web.AppKey("script", AsyncScript)


async def store(request: web.Request) -> web.Response:
    body = await request.read()
    now_ms = int(time.time() * 1000)
    message_id = await request.app[SCRIPT](keys=KEYS, args=[body, now_ms])
    return web.json_response({"id": message_id})


async def readyz(request: web.Request) -> web.Response:
    await request.app[CLIENT].ping()
    return web.json_response({"status": "ready"})


def build_app(redis_url: str) -> web.Application:
    app = web.Application(client_max_size=25 * 1024 * 1024)

    async def client_ctx(app: web.Application) -> AsyncIterator[None]:
        client = aioredis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
        app[CLIENT] = client
        app[SCRIPT] = client.register_script(STORE)
        yield
        await client.aclose()

    app.cleanup_ctx.append(client_ctx)
    app.router.add_post("/{tail:.*}", store)
    app.router.add_get("/readyz", readyz)
    return app


async def serve(port: int, redis_url: str) -> None:
    stop = stop_event()
    runner = web.AppRunner(build_app(redis_url), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    args = parser.parse_args()
    run(serve(args.port, args.redis_url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
