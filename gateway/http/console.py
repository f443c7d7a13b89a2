"""Pages for browsers: the operator console's static files and the hosted web forms.

The console is three files read once from the package (gateway/console/); its data comes from
the operator API with the operator's bearer token, so these routes need no authentication.
"""

from __future__ import annotations

import html
from importlib import resources
from urllib.parse import quote

from aiohttp import web

from channels.errors import NotFound
from channels.webform import adapter as webform
from gateway.http.auth import config_of

CONSOLE_FILES = {
    "console.js": "text/javascript",
    "console.css": "text/css",
    "form.css": "text/css",
}
# Defence in depth for a page that shows customer text: no inline script, nothing from elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; media-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
STATIC: web.AppKey[dict[str, bytes]] = web.AppKey("console files")


def _read_files() -> dict[str, bytes]:
    folder = resources.files("gateway") / "console"
    names = ["index.html", "form.html", *CONSOLE_FILES]
    return {name: (folder / name).read_bytes() for name in names}


async def index(request: web.Request) -> web.Response:
    body = request.app[STATIC]["index.html"]
    return web.Response(body=body, content_type="text/html", charset="utf-8", headers=HEADERS)


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in CONSOLE_FILES:
        raise NotFound("The console has no such file.", code="not_found")
    body = request.app[STATIC][name]
    kind = CONSOLE_FILES[name]
    return web.Response(body=body, content_type=kind, charset="utf-8", headers=HEADERS)


async def form_page(request: web.Request) -> web.Response:
    """The hosted form: the standard fields (forms in config have no field list)."""
    config = config_of(request)
    form = webform.find_form(config.channels.webform, request.match_info["form_id"])
    page = request.app[STATIC]["form.html"].decode()
    page = page.replace("{action}", html.escape(quote(form.id, safe=""), quote=True))
    return web.Response(text=page, content_type="text/html", headers=HEADERS)


def add_routes(app: web.Application) -> None:
    app[STATIC] = _read_files()
    app.router.add_get("/console", index)
    app.router.add_get("/console/{name}", asset)
    app.router.add_get("/forms/{form_id}", form_page)
