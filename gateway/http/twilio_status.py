"""`POST /hooks/twilio/sms/status`: Twilio's delivery reports for the SMS replies it sent.

Verified like every Twilio hook. An unknown MessageSid (not one of ours, or reported before the
worker recorded the send, or after a week) is answered 200 with nothing stored: Twilio would
otherwise retry a report that can never apply.
"""

from __future__ import annotations

from aiohttp import web

from channels.twilio import sms as twilio_sms
from channels.twilio import status as sms_status
from channels.twilio.sms import twiml_empty
from gateway.http.app_keys import RUNTIME
from gateway.http.auth import config_of
from gateway.http.phone_hooks import twilio_form


async def twilio_sms_status(request: web.Request) -> web.Response:
    config = config_of(request)
    report = sms_status.parse(await twilio_form(request, config))
    runtime = request.app[RUNTIME]
    now_ms = runtime.clock.now_ms()
    await runtime.scripts.provider_status(
        now_ms, twilio_sms.SCOPE, report.message_sid, report.status, report.error
    )
    return web.Response(text=twiml_empty(), content_type="text/xml")


def add_routes(app: web.Application) -> None:
    app.router.add_post(sms_status.PATH, twilio_sms_status)
