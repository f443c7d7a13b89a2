"""Admin endpoints: running config, reload, explain (routing without side effects), queues."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from channels import validate
from channels.errors import ConfigError, InvalidField
from channels.message import CHANNELS, InboundMessage
from channels.phones import normalize
from gateway.config import load_config, redacted
from gateway.deadlines import recompute
from gateway.http.api.actions import now_ms
from gateway.http.app_keys import RUNTIME
from gateway.http.body import json_as
from gateway.http.errors import error_body
from gateway.http.jobs import summary as jobs_summary
from gateway.http.schemas.admin import Explain
from gateway.runtime.state import Runtime
from gateway.views import text
from routing import sync
from routing.deadlines import terms_changed
from routing.rules import decide


def admin_runtime(request: web.Request) -> Runtime:
    """The runtime; the auth middleware has already required the admin token here."""
    return request.app[RUNTIME]


async def get_config(request: web.Request) -> web.Response:
    runtime = admin_runtime(request)
    return web.json_response(
        {"version": runtime.config.version, "config": redacted(runtime.config)}
    )


async def reload_config(request: web.Request) -> web.Response:
    runtime = admin_runtime(request)
    try:
        config = load_config(runtime.config.path)
    except ConfigError as error:
        body = error_body(error)
        body["error"]["problems"] = error.problems
        return web.json_response(body, status=422)
    await sync.apply(runtime.scripts, config.routing, config.version)
    old = runtime.config.routing
    runtime.use(config)
    if terms_changed(old, config.routing):
        await recompute(runtime, config.routing, runtime.clock.now_ms())
    await runtime.redis.publish(runtime.keys.reload_channel, config.version)
    return web.json_response({"version": config.version})


def _explain_message(runtime: Runtime, body: Explain) -> InboundMessage:
    channel = body.channel
    if channel is None:
        raise InvalidField(f"'channel' must be one of {', '.join(CHANNELS)}.", field="channel")
    sender = validate.text(body.sender, "from")
    is_mail = "@" in sender
    to = validate.text(body.to, "to")
    region = runtime.config.default_region
    fields = body.fields or {}
    return InboundMessage(
        channel=channel,
        dedupe_scope="explain",
        delivery_id=None,
        sender_phone="" if is_mail or not sender else normalize(sender, region),
        sender_email=sender.lower() if is_mail else "",
        to=to.lower() if "@" in to else (normalize(to, region) if to else ""),
        subject=validate.text(body.subject, "subject"),
        text=validate.text(body.text, "text"),
        form=validate.text(body.form, "form"),
        fields={k: validate.text(v, f"fields.{k}") for k, v in fields.items()},
    )


async def explain(request: web.Request) -> web.Response:
    """Why a message would go where it goes, or (with `case_id`) why a stored case is where it
    is; computed by the routing script itself, changing nothing."""
    runtime = admin_runtime(request)
    body = await json_as(request, Explain)
    if body.case_id is not None:
        return web.json_response(await _explain_case(runtime, body.case_id))
    msg = _explain_message(runtime, body)
    decision = decide(runtime.config.routing, msg)
    contact = await runtime.store.contact_by(msg.sender_phone, msg.sender_email) or ""
    found = await runtime.scripts.explain(now_ms(), decision.service, msg.channel, contact, 0)
    rule = None if decision.rule is None else f"rules[{decision.rule}]"
    head = {"service": decision.service, "type": decision.type, "priority": decision.priority}
    return web.json_response({**head, "rule": rule, **_outcome(runtime, found, msg.channel)})


async def _explain_case(runtime: Runtime, raw: int | str) -> dict[str, Any]:
    case_id = validate.body_id(raw, "case_id")
    case = await runtime.store.case(case_id, timeline=False)
    contact = case["contact"].get("id") or ""
    found = await runtime.scripts.explain(
        now_ms(), case["service"], case["channel"], contact, case_id
    )
    head = {"case_id": case_id, "status": case["status"], "assignee": case["assignee"]}
    head |= {"service": case["service"], "type": case["type"], "priority": case["priority"]}
    return {**head, "rule": None, **_outcome(runtime, found, case["channel"])}


def _outcome(runtime: Runtime, found: dict[str, Any], channel: str) -> dict[str, Any]:
    # Every operator, members or not: "why not boris?" is answered by `not_member` too.
    candidates = [
        _candidate(runtime, row, channel)
        for row in found["candidates"]
        if row["operator"] in runtime.config.routing.operators  # a reload may be under way
    ]
    decision = (
        {"operator": found["decision"], "sticky_owner": found["owner"]}
        if found["decision"]
        else {"operator": None, "queued": True}
    )
    return {"candidates": sorted(candidates, key=lambda c: c["operator"]), "decision": decision}


def _candidate(runtime: Runtime, row: dict[str, Any], channel: str) -> dict[str, Any]:
    capacity = runtime.config.routing.operators[row["operator"]].capacity
    return {
        "operator": row["operator"],
        "eligible": row["eligible"],
        "reason": row["reason"],
        "presence": row["presence"],
        "load": {"total": row["load"], channel: row["channel_load"]},
        "capacity": {"total": capacity.total, channel: capacity.per_channel[channel]},
    }


async def queues(request: web.Request) -> web.Response:
    runtime = admin_runtime(request)
    keys, config = runtime.keys, runtime.config
    async with runtime.redis.pipeline(transaction=False) as pipe:
        for svc in config.routing.services:
            for ch in CHANNELS:
                pipe.zcard(keys.queue(svc, ch))
                pipe.zrange(keys.queue(svc, ch), 0, 0, withscores=True)
        for op in config.routing.operators:
            pipe.hmget(keys.operator(op), "pr", "lt")
        rows = await pipe.execute()
    found = _queues_json(runtime, rows)
    for svc, counts in (await _sla_counts(runtime)).items():
        if svc in found["services"]:
            found["services"][svc].update(counts)
    found["jobs"] = await jobs_summary(request.app)  # RQ, per queue (gateway/http/jobs.py)
    return web.json_response(found)


async def _sla_counts(runtime: Runtime) -> dict[str, dict[str, int]]:
    """Open cases breached and at risk per service (the indexes hold open cases only)."""
    counts = {svc: {"sla_breached": 0, "sla_at_risk": 0} for svc in runtime.config.routing.services}
    for name, index in (("sla_breached", runtime.keys.sla_breached),
                        ("sla_at_risk", runtime.keys.sla_risk)):  # fmt: skip
        ids = await runtime.redis.zrange(index, 0, -1)
        async with runtime.redis.pipeline(transaction=False) as pipe:
            for case_id in ids:
                pipe.hget(runtime.keys.case(text(case_id)), "sv")
            services = await pipe.execute()
        for svc in services:
            if svc is not None and text(svc) in counts:
                counts[text(svc)][name] += 1
    return counts


def _queues_json(runtime: Runtime, rows: list[Any]) -> dict[str, Any]:
    config = runtime.config
    services: dict[str, Any] = {}
    it = iter(rows)
    for svc in config.routing.services:
        counts = [(next(it), next(it)) for _ in CHANNELS]
        oldest = [int(head[0][1]) % 10**13 for _, head in counts if head]
        services[svc] = {
            "queued": sum(count for count, _ in counts),
            "oldest_wait_seconds": (now_ms() - min(oldest)) / 1000 if oldest else None,
        }
    operators = {}
    for op in config.routing.operators:
        presence, load = next(it)
        operators[op] = {
            "presence": presence.decode() if presence else "offline",
            "load": int(load or 0),
        }
    return {"services": services, "operators": operators}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/admin/config", get_config)
    app.router.add_post("/api/admin/config/reload", reload_config)
    app.router.add_post("/api/admin/explain", explain)
    app.router.add_get("/api/admin/queues", queues)
