"""One timeline entry: move it to another case, note on it, edit one's own note."""

from __future__ import annotations

from aiohttp import web

from channels import validate
from channels.errors import Conflict, Forbidden, IntakeError, InvalidField, NotFound
from gateway.http.api.actions import refused
from gateway.http.api.cases import case_id_of
from gateway.http.auth import actor
from gateway.http.body import json_as
from gateway.http.schemas.cases import CaseText
from gateway.http.schemas.workflow import MoveEntry
from gateway.runtime.state import Actor
from gateway.views import entry_json
from routing.errors import RoutingRefused

REFUSALS: dict[str, tuple[type[IntakeError], str, str | None]] = {
    "entry_not_found": (NotFound, "The case has no such timeline entry.", None),
    "target_not_found": (InvalidField, "There is no case 'to_case'.", "to_case"),
    "other_contact": (
        InvalidField,
        "Entries move only to another case of the same contact.",
        "to_case",
    ),
    "entry_not_movable": (
        Conflict,
        "Only messages, calls and notes move (a note on an entry moves with that entry).",
        None,
    ),
    "media_pending": (Conflict, "The message's media are still being fetched.", None),
    "delivery_pending": (Conflict, "The message is still being sent.", None),
    "not_a_note": (Conflict, "Only notes can be edited.", None),
    "not_author": (Forbidden, "Only the note's author may edit it.", None),
}


def _refused(error: RoutingRefused) -> IntakeError:
    if error.code not in REFUSALS:
        return refused(error)
    kind, message, field = REFUSALS[error.code]
    return kind(message, code=error.code, field=field)


def entry_of(request: web.Request) -> str:
    """The `{entry}` of the path: an entry id is ASCII digits."""
    found = validate.positive_id(request.match_info["entry"])
    if found is None:
        raise NotFound("The case has no such timeline entry.", code="entry_not_found")
    return str(found)


def _author(who: Actor) -> str:
    return who.operator or "admin"


async def move(request: web.Request) -> web.Response:
    runtime, who = actor(request)
    case_id, entry = case_id_of(request), entry_of(request)
    to_case = (await json_as(request, MoveEntry)).to_case
    if to_case == case_id:
        raise InvalidField("'to_case' must be another case.", field="to_case")
    acting = "" if who.admin else str(who.operator)
    window = int(runtime.config.edit_window * 1000)
    try:
        moved = await runtime.scripts.move(
            runtime.clock.now_ms(), case_id, acting, entry, to_case, window
        )
    except RoutingRefused as error:
        raise _refused(error) from None
    return web.json_response({"case_id": case_id, **moved})


async def _note_step(request: web.Request, name: str, status: int) -> web.Response:
    runtime, who = actor(request)
    case_id, entry = case_id_of(request), entry_of(request)
    text = validate.storable((await json_as(request, CaseText)).text, "text")
    step = runtime.scripts.entry_note if name == "note" else runtime.scripts.note_edit
    window = (int(runtime.config.edit_window * 1000), who.admin)
    try:
        found = await step(runtime.clock.now_ms(), case_id, _author(who), entry, text, window)
    except RoutingRefused as error:
        raise _refused(error) from None
    return web.json_response(entry_json(case_id, found["entry"], ""), status=status)


async def note_on_entry(request: web.Request) -> web.Response:
    return await _note_step(request, "note", 201)


async def edit_note(request: web.Request) -> web.Response:
    return await _note_step(request, "edit", 200)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/cases/{case_id}/timeline/{entry}/move", move)
    app.router.add_post("/api/cases/{case_id}/timeline/{entry}/note", note_on_entry)
    app.router.add_patch("/api/cases/{case_id}/timeline/{entry}", edit_note)
