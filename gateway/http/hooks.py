"""Inbound provider endpoints: each verifies and parses through its channel, then calls intake."""

from __future__ import annotations

from aiohttp import web

from channels import fastjson
from channels.sms import adapter as sms
from channels.webform import adapter as webform
from gateway.http.app_keys import RUNTIME
from gateway.http.auth import config_of
from gateway.http.body import media_type


async def sms_hook(request: web.Request) -> web.Response:
    runtime, config = request.app[RUNTIME], config_of(request)
    message = await sms.parse(request, config.channels.sms, config.default_region)
    result = await runtime.intake.submit(config, message)
    answer = {"case_id": result.case_id, "contact_id": result.contact_id}
    return web.json_response(answer, dumps=fastjson.dumps)


def _wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    if media_type(request) == "application/json":
        return "text/html" not in accept
    return "application/json" in accept and "text/html" not in accept


async def form_post(request: web.Request) -> web.Response:
    runtime, config = request.app[RUNTIME], config_of(request)
    form = webform.find_form(config.channels.webform, request.match_info["form_id"])
    message, bot = await webform.parse(request, config.default_region, form)
    case_id = None
    if not bot:
        case_id = (await runtime.intake.submit(config, message)).case_id
    if _wants_json(request):
        return web.json_response({"case_id": case_id}, status=201)
    # Returned, not raised as HTTPSeeOther: the raised one kept its traceback, whose frames
    # hold the request, so every browser post left a cycle for the GC (~40 % of its rate).
    return web.Response(status=303, headers={"Location": form.redirect})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/hooks/sms", sms_hook)
    app.router.add_post("/forms/{form_id}", form_post)
