"""Every channel, one line each: its settings section, the HTTP hooks it serves, its sender.

gateway/config.py reads the sections in this order (so problems are reported in it) and
gateway/http/hooks.py routes the hooks. Adding a channel: its folder here and one line below.
"""

from __future__ import annotations

from typing import Any

from channels import (
    chat_settings,
    email_settings,
    mango_settings,
    phone_settings,
    twilio_settings,
)
from channels.base import Channel, Hook, section
from channels.sms import adapter as sms
from channels.sms import settings as sms_settings
from channels.twilio import adapter as twilio
from channels.webform import adapter as webform
from channels.webform import settings as webform_settings

CHANNELS: tuple[Channel[Any], ...] = (
    Channel("email", section(email_settings.read)),
    Channel(
        "twilio",
        section(twilio_settings.read),
        (Hook("POST", "/hooks/twilio/sms", twilio.parse_sms, twilio.answer_sms, twilio.MAX_SMS),),
    ),
    Channel("phone", section(phone_settings.read)),
    Channel("mango", lambda table, known: mango_settings.read(table, known.operators)),
    Channel(
        "sms",
        section(sms_settings.read),
        (Hook("POST", "/hooks/sms", sms.parse, sms.answer, sms.MAX_BODY),),
    ),
    Channel(
        "webform",
        lambda table, known: webform_settings.read(table, known.services),
        (Hook("POST", "/forms/{form_id}", webform.parse, webform.answer, webform.MAX_BODY),),
    ),
    Channel("chat", section(chat_settings.read)),
)
