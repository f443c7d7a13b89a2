"""The channel registry and the adapter contract: a hook is one registry line, its adapter a pure
function of a `Delivery`. The proof is Twilio's SMS webhook, signed by Twilio's own library."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import urlencode

import redis
from aiohttp.test_utils import TestClient
from multidict import CIMultiDict, MultiDict
from twilio.request_validator import RequestValidator

from channels.base import Delivery, Ignored
from channels.message import InboundMessage
from channels.registry import CHANNELS
from channels.twilio.sms import twiml_empty
from channels.webform import adapter as webform
from gateway.config import Channels, Config
from routing.keys import Keys
from tests.conftest import GatewayFactory
from tests.test_intake import all_cases, get_case, messages, stored_keys

TOKEN = "sample-twilio-token"  # [channels.twilio].auth_token of the sample config
PUBLIC = "http://127.0.0.1:8080"  # its [gateway].public_url: what Twilio signs, not our port
TARGET = "/hooks/twilio/sms?tenant=a%20b"
MESSAGE = "SM" + "1f0e8ae6ade43cb3c0ce4525424e404f"
PARAMS = {
    "MessageSid": MESSAGE,
    "AccountSid": "AC" + "a1" * 16,
    "From": "+79161234567",
    "To": "+74950000000",
    "Body": "Здравствуйте, заказ #42 + доставка & оплата = ?",
    "NumMedia": "0",
}


def twilio_post(params: dict[str, str], signed: dict[str, str] | None = None) -> dict[str, object]:
    """What Twilio sends: `signed` (default `params`) signed by its RequestValidator."""
    signature = RequestValidator(TOKEN).compute_signature(
        PUBLIC + TARGET, MultiDict(signed or params)
    )
    headers = {
        "X-Twilio-Signature": str(signature),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return {"data": urlencode(params).encode(), "headers": headers}


async def test_a_twilio_sms_is_verified_stored_and_answered_with_twiml(
    gateway: TestClient,
) -> None:
    response = await gateway.post(TARGET, **twilio_post(PARAMS))
    assert response.status == 200, await response.text()
    assert response.content_type == "text/xml"
    assert await response.text() == twiml_empty()
    (summary,) = await all_cases(gateway)
    case = await get_case(gateway, summary["id"])
    assert case["channel"] == "sms" and case["contact"]["phones"] == ["+79161234567"]
    (entry,) = messages(case)
    assert (entry["from"], entry["text"]) == ("+79161234567", PARAMS["Body"])


async def test_one_changed_parameter_is_refused_and_stores_nothing(
    gateway: TestClient, sync_redis: redis.Redis, keys: Keys
) -> None:
    before = stored_keys(sync_redis, keys)
    response = await gateway.post(TARGET, **twilio_post({**PARAMS, "Body": "changed"}, PARAMS))
    assert response.status == 401 and response.content_type == "application/json"
    assert (await response.json())["error"]["code"] == "bad_signature"
    assert stored_keys(sync_redis, keys) == before


async def test_a_replayed_message_sid_stores_nothing_new(
    gateway: TestClient, sync_redis: redis.Redis, keys: Keys
) -> None:
    assert (await gateway.post(TARGET, **twilio_post(PARAMS))).status == 200
    before = stored_keys(sync_redis, keys)
    again = await gateway.post(TARGET, **twilio_post(PARAMS))
    assert again.status == 200 and await again.text() == twiml_empty()
    assert stored_keys(sync_redis, keys) == before
    assert len(await all_cases(gateway)) == 1


async def test_without_its_section_the_twilio_hook_answers_webhook_disabled(
    make_gateway: GatewayFactory, config: Config
) -> None:
    off = dataclasses.replace(config, channels=dataclasses.replace(config.channels, twilio=None))
    response = await (await make_gateway(off)).post(TARGET, **twilio_post(PARAMS))
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "webhook_disabled"


def test_every_registered_channel_is_a_section_of_the_config() -> None:
    names = [channel.name for channel in CHANNELS]
    assert names == [each.name for each in dataclasses.fields(Channels)]
    paths = [(hook.method, hook.path) for channel in CHANNELS for hook in channel.hooks]
    assert len(paths) == len(set(paths))
    assert ("POST", "/hooks/twilio/sms") in paths and ("POST", "/hooks/sms") in paths


def form_post(body: dict[str, str], **headers: str) -> Delivery:
    headers = {"Content-Type": "application/json", **headers}
    raw = json.dumps(body).encode()
    return Delivery(CIMultiDict(headers), raw, "/forms/contact", route={"form_id": "contact"})


def test_the_web_form_adapter_is_a_pure_function_of_the_delivery(config: Config) -> None:
    settings, region = config.channels.webform, config.default_region
    message = webform.parse(form_post({"phone": "8 916 000-11-22", "text": "hi"}), settings, region)
    assert isinstance(message, InboundMessage)
    assert (message.sender_phone, message.text, message.form) == ("+79160001122", "hi", "contact")
    bot = {"email": "bot@spam.example", "website": "http://spam.example"}
    assert isinstance(webform.parse(form_post(bot), settings, region), Ignored)
    browser = form_post(bot, Accept="text/html")
    reply = webform.answer(browser, settings, None)
    assert (reply.status, reply.headers["Location"]) == (303, "/thanks")
