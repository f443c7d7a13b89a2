"""`POST /api/cases/{id}/reply` for chat cases, until the outbox's endpoint covers every channel.

Kept apart so the merge can drop it: the outbox's endpoint calls `deliver_chat_reply` for
cases on channel `chat`.
"""

from __future__ import annotations

from aiohttp import web

from channels import validate
from channels.errors import Conflict
from gateway.chat.deliver import deliver_chat_reply
from gateway.http.api.actions import refused
from gateway.http.api.cases import case_id_of, json_body
from gateway.http.auth import actor
from routing.errors import RoutingRefused


async def reply(request: web.Request) -> web.Response:
    runtime, who = actor(request)
    case_id = case_id_of(request)
    body = await json_body(request)
    text = validate.text(body.get("text"), "text", required=True, allow_empty=False)
    try:
        await deliver_chat_reply(runtime, case_id, "" if who.admin else str(who.operator), text)
    except RoutingRefused as error:
        if error.code == "not_chat":
            raise Conflict("Replies here go to chat cases only.", code="not_chat") from None
        raise refused(error) from None
    return web.json_response(await runtime.store.case(case_id, timeline=False), status=201)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/cases/{case_id}/reply", reply)
