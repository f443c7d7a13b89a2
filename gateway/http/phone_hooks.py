"""Call events from telephony providers: the generic PBX API (screen pop), Twilio Voice, Mango.

Each verifies and parses through its channel, maps the callback onto a `CallStep` and moves the
call on in one Redis step (gateway/calls.py); Twilio is answered with the next TwiML to run.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from channels import fastjson, signature
from channels.callerid import is_withheld
from channels.errors import InvalidField
from channels.mango import events as mango_events
from channels.mango import sign as mango_sign
from channels.phone import events as phone_events
from channels.phones import normalize
from channels.twilio import signature as twilio_signature
from channels.twilio import voice
from channels.twilio.sms import twiml_empty
from channels.urlencoded import Form, parse_form
from gateway import calls, views
from gateway.calls import CallOutcome, CallStep, Step
from gateway.config import Config
from gateway.http.app_keys import RUNTIME
from gateway.http.auth import config_of
from gateway.http.body import read_limited, require_type
from routing.errors import RoutingRefused

MAX_BODY = 64 * 1024
STATUS_PATH = "/hooks/twilio/voice/status"
DEFAULT_RING = 20.0  # seconds a call rings an operator when [routing] sets no phone timeout
NOT_ANSWERED = frozenset({"busy", "no-answer", "failed", "canceled"})


async def _apply(request: web.Request, step: CallStep) -> CallOutcome:
    try:
        return await calls.apply(request.app[RUNTIME].scripts, config_of(request), step)
    except RoutingRefused as refused:
        if refused.code != "operator_not_found":
            raise
        raise InvalidField(f"No operator {step.operator!r}.", field="operator") from None


def _route_to(config: Config, operator: str | None) -> dict[str, Any] | None:
    found = config.routing.operators.get(operator or "")
    return {"operator": found.id, "phone": found.phone or None} if found else None


async def phone_hook(request: web.Request) -> web.Response:
    config = config_of(request)
    raw = await read_limited(request, MAX_BODY)
    secret = config.channels.phone.secret if config.channels.phone else None
    signature.verify(secret, request.headers.get("X-Intake-Signature"), raw)
    require_type(request, "application/json")
    event = phone_events.parse(raw, config.default_region)
    step = CallStep(
        provider="phone",
        delivery_id=event.id,
        call_id=event.call_id,
        step=event.event,
        caller=event.caller,
        to=event.to,
        operator=event.operator if event.event in phone_events.NEEDS_OPERATOR else "",
        duration=event.duration,
        recording_url=event.recording_url,
        direction=event.direction,
        screen_pop=event.event == "ringing",
    )
    outcome = await _apply(request, step)
    answer: dict[str, Any] = {"call_id": outcome.call_id, "case_id": outcome.case_id}
    if event.event == "ringing":
        answer = _screen_pop(request, config, outcome)
    return web.json_response(answer, dumps=fastjson.dumps)


def _screen_pop(request: web.Request, config: Config, outcome: CallOutcome) -> dict[str, Any]:
    service_name = request.app[RUNTIME].service_name
    contact = views.contact_json(outcome.contact_id, outcome.contact)
    open_cases = [
        views.case_json(case_id, fields, contact, service_name(fields.get("sv", "")))
        for case_id, fields in outcome.open_cases
    ]
    return {
        "call_id": outcome.call_id,
        "case_id": outcome.case_id,
        "contact": contact,
        "open_cases": open_cases,
        "route_to": _route_to(config, outcome.route_to),
    }


# Twilio Voice


def _twiml(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/xml")


async def twilio_form(request: web.Request, config: Config) -> Form:
    raw = await read_limited(request, MAX_BODY)
    settings = config.channels.twilio
    token = settings.auth_token.reveal() if settings else ""
    url = twilio_signature.request_url(config.public_url, request.raw_path)
    return twilio_signature.verify(token, url, request.headers, raw)


def _caller(form: Form, region: str) -> str:
    raw = form.text("From", required=False, max_len=128)
    return "" if is_withheld(raw) else normalize(raw, region)


def _next_twiml(config: Config, outcome: CallOutcome) -> str:
    """Dial the operator being rung, or take a voicemail when there is nobody."""
    operator = config.routing.operators.get(outcome.route_to or "")
    status_url = config.public_url.rstrip("/") + STATUS_PATH
    if operator and operator.phone:
        timeout = config.routing.offer_timeout.get("phone", DEFAULT_RING)
        return voice.dial(operator.phone, timeout, status_url)
    twilio = config.channels.twilio
    assert twilio is not None  # a verified Twilio request means the section is there
    return voice.voicemail(twilio.voicemail_say, twilio.voicemail_language, status_url)


async def twilio_voice(request: web.Request) -> web.Response:
    config = config_of(request)
    form = await twilio_form(request, config)
    call = voice.parse_call(form, config.default_region)
    step = CallStep(
        provider="twilio",
        delivery_id=f"voice/{call.idempotency_key}",
        call_id=call.call_sid,
        step="ringing",
        caller=call.caller,
        to=call.called,
        callback_when_nobody=True,
    )
    return _twiml(_next_twiml(config, await _apply(request, step)))


def _status_step(status: voice.CallStatus) -> tuple[Step, float | None] | None:
    """What a status or <Dial action> callback means for the call (None: nothing yet)."""
    if status.dial_call_status in NOT_ANSWERED:
        return "declined", None
    if status.dial_call_status:
        return "completed", status.dial_call_duration
    if status.recording_sid:
        return "missed", status.recording_duration  # the voicemail: nobody took the call
    if status.call_status == "completed":
        return "ended", status.call_duration
    if status.call_status in NOT_ANSWERED:
        return "missed", None
    return None


async def twilio_voice_status(request: web.Request) -> web.Response:
    config = config_of(request)
    form = await twilio_form(request, config)
    status = voice.parse_status(form)
    meaning = _status_step(status)
    if meaning is None:
        return _twiml(twiml_empty())
    step = CallStep(
        provider="twilio",
        delivery_id=f"status/{status.idempotency_key}",
        call_id=status.call_sid,
        step=meaning[0],
        caller=_caller(form, config.default_region),
        to=normalize(form.text("To", required=False, max_len=128), config.default_region),
        duration=meaning[1],
        recording_url=status.recording_url,
        callback_when_nobody=True,
    )
    outcome = await _apply(request, step)
    if step.step == "declined":
        return _twiml(_next_twiml(config, outcome))
    return _twiml(twiml_empty())


# Mango Office


async def _mango_json(request: web.Request, config: Config) -> str:
    raw = await read_limited(request, MAX_BODY + mango_sign.MAX_JSON)
    require_type(request, twilio_signature.FORM_TYPE)
    settings = config.channels.mango
    key = settings.api_key.reveal() if settings else ""
    salt = settings.api_salt.reveal() if settings else ""
    return mango_sign.verify(parse_form(raw), key, salt)


async def _mango_step(request: web.Request, event: phone_events.PhoneEvent | None) -> web.Response:
    if event is None:
        return web.json_response({})
    mango = config_of(request).channels.mango
    extensions = mango.extensions if mango else {}
    step = CallStep(
        provider="mango",
        delivery_id=event.id,
        call_id=event.call_id,
        step=event.event,
        caller=event.caller,
        to=event.to,
        operator=extensions.get(event.operator, "") if event.event == "answered" else "",
        duration=event.duration,
        direction=event.direction,
    )
    outcome = await _apply(request, step)
    return web.json_response({"call_id": outcome.call_id, "case_id": outcome.case_id})


async def mango_call(request: web.Request) -> web.Response:
    config = config_of(request)
    event = mango_events.parse_call(await _mango_json(request, config))
    return await _mango_step(request, mango_events.call_lifecycle(event, config.default_region))


async def mango_summary(request: web.Request) -> web.Response:
    config = config_of(request)
    summary = mango_events.parse_summary(await _mango_json(request, config))
    return await _mango_step(
        request, mango_events.summary_lifecycle(summary, config.default_region)
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/hooks/phone", phone_hook)
    app.router.add_post("/hooks/twilio/voice", twilio_voice)
    app.router.add_post(STATUS_PATH, twilio_voice_status)
    app.router.add_post("/hooks/mango/events/call", mango_call)
    app.router.add_post("/hooks/mango/events/summary", mango_summary)
