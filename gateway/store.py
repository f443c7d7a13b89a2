"""Reads of cases and contacts for the API: pipelined, never deciding anything."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from channels.errors import NotFound
from channels.message import CHANNELS
from gateway.views import (
    CASE_FIELDS,
    attachment_json,
    case_json,
    contact_json,
    decoded,
    entry_json,
    stored_attachments,
    text,
)
from routing.keys import Keys

SCAN_BUDGET = 5000  # ids looked at per page before answering with a cursor
READ = (*CASE_FIELDS, "ct")  # what a case's JSON shows, and its contact


def _present(values: list[Any]) -> dict[str, str]:
    """An HMGET reply for READ as the hash it read, absent fields left out."""
    return {name: text(v) for name, v in zip(READ, values, strict=True) if v is not None}


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    service: str | None = None
    assignee: str | None = None
    contact: str | None = None
    sla: str | None = None  # "breached" or "at_risk": open cases in that SLA index
    created_by: str | None = None  # an operator id (manual cases) or a channel
    owner: str | None = None  # the operator who owns the case's contact
    priority: int | None = None


class Store:
    def __init__(self, client: aioredis.Redis, keys: Keys, service_name: Callable[[str], str]):
        self.redis = client
        self.keys = keys
        self.service_name = service_name

    async def contact(self, contact_id: str) -> dict[str, Any]:
        fields = await self.redis.hgetall(self.keys.contact(contact_id))
        return contact_json(contact_id, decoded(fields))

    async def cases(self, ids: list[int]) -> list[dict[str, Any]]:
        """The cases (without timeline) in the order given; missing ids are left out."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id in ids:
                pipe.hmget(self.keys.case(case_id), READ)
            hashes = [_present(values) for values in await pipe.execute()]
        found = [(i, h) for i, h in zip(ids, hashes, strict=True) if h]
        contact_ids = sorted({h["ct"] for _, h in found if h.get("ct")})
        async with self.redis.pipeline(transaction=False) as pipe:
            for contact_id in contact_ids:
                pipe.hgetall(self.keys.contact(contact_id))
            contacts = {
                cid: contact_json(cid, decoded(f))
                for cid, f in zip(contact_ids, await pipe.execute(), strict=True)
            }
        return [
            case_json(i, h, contacts.get(h.get("ct", ""), {}), self.service_name(h.get("sv", "")))
            for i, h in found
        ]

    def view(self, case_id: int, step: Mapping[str, Any]) -> dict[str, Any]:
        """The case (without timeline) from the `case` and `contact` hashes a Lua step answered
        with (routing/lua/workflow.lua), as `case` renders it."""
        found: dict[str, str] = step["case"]
        contact_id, contact = found.get("ct"), step["contact"]
        shown = contact_json(contact_id, contact or {}) if contact_id else {}
        return case_json(case_id, found, shown, self.service_name(found.get("sv", "")))

    async def case(self, case_id: int, *, timeline: bool = True) -> dict[str, Any]:
        found = await self.cases([case_id])
        if not found:
            raise NotFound(f"There is no case {case_id}.", code="case_not_found")
        case = found[0]
        if timeline:
            case["timeline"] = await self._timeline(case_id, case["channel"])
        return case

    async def _timeline(self, case_id: int, channel: str) -> list[dict[str, Any]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lrange(self.keys.timeline(case_id), 0, -1)
            pipe.hgetall(self.keys.deliveries(case_id))
            raw, deliveries = await pipe.execute()
        states = decoded(deliveries)
        return [entry_json(case_id, text(r), channel, states) for r in raw]

    async def attachment(self, case_id: int, n: int) -> tuple[dict[str, Any], str]:
        """The attachment as the API shows it, and the blob digest of its bytes."""
        await self.case(case_id, timeline=False)  # no such case: its own 404
        for raw in await self.redis.lrange(self.keys.timeline(case_id), 0, -1):
            for stored in stored_attachments(text(raw)):
                if stored.get("id") == n and isinstance(stored.get("sha"), str):
                    return attachment_json(case_id, stored), stored["sha"]
        raise NotFound(f"Case {case_id} has no attachment {n}.", code="attachment_not_found")

    async def contact_by(self, phone: str, email: str) -> str | None:
        found = None
        if phone:
            found = await self.redis.hget(self.keys.phone_index, phone)
        if found is None and email:
            found = await self.redis.hget(self.keys.email_index, email.lower())
        return text(found) if found is not None else None

    async def open_cases(self, contact_id: str) -> list[dict[str, Any]]:
        ids = await self.redis.zrevrange(self.keys.contact_cases(contact_id), 0, 199)
        cases = await self.cases([int(text(i)) for i in ids])
        return [c for c in cases if c["status"] != "resolved"]

    async def page(
        self, flt: CaseFilter, limit: int, before: int | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Newest first: up to `limit` matching cases with ids below `before`, and the cursor."""
        matched: list[int] = []
        scanned = 0
        cursor = before
        while len(matched) < limit and scanned < SCAN_BUDGET:
            ids = await self._candidates(flt, cursor, 200)
            if not ids:
                return await self.cases(matched), None
            scanned += len(ids)
            for case_id in await self._filter(flt, ids):
                matched.append(case_id)
                if len(matched) == limit:
                    return await self.cases(matched), case_id
            cursor = ids[-1]
        return await self.cases(matched), cursor

    def _sla_index(self, sla: str) -> str:
        return self.keys.sla_breached if sla == "breached" else self.keys.sla_risk

    def _index(self, flt: CaseFilter) -> str | None:
        """The index walked newest first (likely the smallest one named); None: every id."""
        if flt.contact:
            return self.keys.contact_cases(flt.contact)
        if _by_operator(flt):
            return self.keys.created_cases(str(flt.created_by))
        if flt.owner:
            return self.keys.owned_cases(flt.owner)
        if flt.sla:
            return self._sla_index(flt.sla)
        return self.keys.status(str(flt.status)) if flt.status else None

    def _sets(self, flt: CaseFilter) -> list[str]:
        """The indexes a matching case is in (besides the one walked)."""
        sets = [self.keys.created_cases(str(flt.created_by))] if _by_operator(flt) else []
        sets += [self.keys.owned_cases(flt.owner)] if flt.owner else []
        return sets + ([self._sla_index(flt.sla)] if flt.sla else [])

    async def _candidates(self, flt: CaseFilter, before: int | None, count: int) -> list[int]:
        high = f"({before}" if before is not None else "+inf"
        index = self._index(flt)
        if index is not None:
            ids = await self.redis.zrevrangebyscore(index, high, "-inf", start=0, num=count)
            return [int(text(i)) for i in ids]
        top = (
            before - 1
            if before is not None
            else int(text(await self.redis.get(self.keys.case_seq) or 0))
        )
        return list(range(top, max(top - count, 0), -1))

    async def _filter(self, flt: CaseFilter, ids: list[int]) -> list[int]:
        sets = self._sets(flt)
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id in ids:
                pipe.hmget(self.keys.case(case_id), "st", "sv", "as", "pr", "cb", "ch")
                for key in sets:
                    pipe.zscore(key, case_id)
            replies = await pipe.execute()
        step = 1 + len(sets)
        wanted = []
        for n, case_id in enumerate(ids):
            row, scores = replies[n * step], replies[n * step + 1 : (n + 1) * step]
            if row[0] is not None and None not in scores and _fields_match(flt, row):
                wanted.append(case_id)
        return wanted


def _by_operator(flt: CaseFilter) -> bool:
    """Only cases an operator created are indexed by creator (`by:<operator>`); the others,
    created by their channel, are found by their fields: an index of every SMS would cost each
    case more bytes than anything else it stores but its timeline."""
    return bool(flt.created_by) and flt.created_by not in CHANNELS


def _fields_match(flt: CaseFilter, row: list[Any]) -> bool:
    st, sv, asg, pr, cb, ch = (text(v) if v is not None else "" for v in row)
    by_channel = flt.created_by in CHANNELS
    return (
        (not by_channel or (cb == "" and ch == flt.created_by))
        and (not flt.status or st == flt.status)
        and (not flt.service or sv == flt.service)
        and (not flt.assignee or asg == flt.assignee)
        and (flt.priority is None or pr == str(flt.priority))
    )
