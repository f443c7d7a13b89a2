"""`GET /api/cases/{id}/history`: the case's timeline filtered, streamed page by page from Redis
as JSON, JSON lines or CSV (gateway/history.py writes the pages)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from aiohttp import web

from channels import validate
from channels.errors import InvalidField, NotFound
from gateway.history import BOM, FORMATS, KINDS, HistoryFilter, csv_page, json_page, jsonl_page
from gateway.http.api.cases import case_id_of
from gateway.http.auth import actor
from gateway.runtime.state import Actor, Runtime
from gateway.views import entry_json, rfc3339, text

PAGE = 500  # timeline entries read (and written) per round trip
_ENTRY_ID = re.compile(r'"i":"(\d+)"')  # a stored entry's id, without decoding it twice
_ZONE_SPACE = re.compile(r" (\d{2}:\d{2})$")  # "+03:00" arrives as " 03:00" when not escaped
ACCEPTED = {"text/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl"}


def _moment(request: web.Request, name: str) -> str | None:
    if name not in request.query:
        return None
    raw = _ZONE_SPACE.sub(r"+\1", request.query[name].strip())  # an empty one is refused too
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidField(
            f"'{name}' must be an RFC 3339 time with a zone (Z or +hh:mm).", field=name
        )
    return rfc3339(int(moment.timestamp() * 1000))


def _kinds(request: web.Request) -> frozenset[str]:
    given = {kind.strip() for kind in request.query.get("kind", "").split(",") if kind.strip()}
    unknown = sorted(given - set(KINDS))
    if unknown:
        raise InvalidField(f"'kind' must be among {', '.join(KINDS)}.", field="kind")
    return frozenset(given)


def _by(request: web.Request, who: Actor) -> str | None:
    raw = request.query.get("by")
    if raw is None:
        return None
    if not raw.strip():
        raise InvalidField("'by' must name an operator, 'me' or a sender.", field="by")
    found = validate.storable(raw.strip(), "by", 320)
    return (who.operator or "admin") if found == "me" else found


def history_filter(request: web.Request, who: Actor) -> HistoryFilter:
    since, until = _moment(request, "since"), _moment(request, "until")
    if since is not None and until is not None and until < since:
        raise InvalidField("'until' must not be before 'since'.", field="until")
    return HistoryFilter(_kinds(request), _by(request, who), since, until)


def output_format(request: web.Request) -> str:
    given = request.query.get("format")
    if given is not None:
        if given not in FORMATS:
            raise InvalidField(f"'format' must be one of {', '.join(FORMATS)}.", field="format")
        return given
    accept = request.headers.get("Accept", "")
    return next((fmt for kind, fmt in ACCEPTED.items() if kind in accept), "json")


async def _pages(
    runtime: Runtime, case_id: int, channel: str
) -> AsyncIterator[list[dict[str, Any]]]:
    """The timeline in pages of PAGE entries, as the API shows them (delivery states merged)."""
    key, start = runtime.keys.timeline(case_id), 0
    while True:
        raw = [text(r) for r in await runtime.redis.lrange(key, start, start + PAGE - 1)]
        if not raw:
            return
        ids = [found[1] for r in raw if (found := _ENTRY_ID.search(r))]
        states = await runtime.redis.hmget(runtime.keys.deliveries(case_id), ids) if ids else []
        known = {i: text(s) for i, s in zip(ids, states, strict=True) if s is not None}
        yield [entry_json(case_id, r, channel, known) for r in raw]
        if len(raw) < PAGE:
            return
        start += PAGE


async def _stream(
    response: web.StreamResponse,
    pages: AsyncIterator[list[dict[str, Any]]],
    fmt: str,
    flt: HistoryFilter,
    case_id: int,
) -> None:
    first = True
    head = {"json": f'{{"case_id":{case_id},"entries":[', "csv": BOM + csv_page([], header=True)}
    await response.write(head.get(fmt, "").encode())
    async for page in pages:
        kept = [entry for entry in page if flt.keeps(entry)]
        if fmt == "json":
            chunk, first = json_page(kept, first), first and not kept
        else:
            chunk = csv_page(kept, header=False) if fmt == "csv" else jsonl_page(kept)
        if chunk:
            await response.write(chunk.encode())
    if fmt == "json":
        await response.write(b"]}")


async def history(request: web.Request) -> web.StreamResponse:
    runtime, who = actor(request)
    case_id = case_id_of(request)
    flt, fmt = history_filter(request, who), output_format(request)
    channel = await runtime.redis.hget(runtime.keys.case(case_id), "ch")
    if channel is None:
        raise NotFound(f"There is no case {case_id}.", code="case_not_found")
    headers = {"Content-Type": f"{FORMATS[fmt]}; charset=utf-8"}
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="case-{case_id}-history.csv"'
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    await _stream(response, _pages(runtime, case_id, text(channel)), fmt, flt, case_id)
    await response.write_eof()
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/cases/{case_id}/history", history)
