"""`GET /api/openapi.json` and its page `GET /api/docs` (a script of ours renders the document:
nothing from a CDN). Public, like the console's files: the document holds no secret, and the
integrators who read it may not have a token yet."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from channels import fastjson
from gateway.http.console import HEADERS
from gateway.http.openapi.document import document

FILES = resources.files("gateway") / "static"
PAGE, SCRIPT = (FILES / "docs.html").read_bytes(), (FILES / "docs.js").read_bytes()


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document(), dumps=fastjson.dumps)


async def page(request: web.Request) -> web.Response:
    return web.Response(body=PAGE, content_type="text/html", charset="utf-8", headers=HEADERS)


async def script(request: web.Request) -> web.Response:
    return web.Response(
        body=SCRIPT, content_type="text/javascript", charset="utf-8", headers=HEADERS
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_get("/api/docs", page)
    app.router.add_get("/api/docs/docs.js", script)
