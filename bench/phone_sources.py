"""Request sources of bench/phone.py (their own module: the load generator unpickles them)."""

from __future__ import annotations

import base64
import hmac
import json
from dataclasses import dataclass
from urllib.parse import urlencode

from bench.common import http_request, phone
from channels.signature import sign
from channels.twilio.signature import params_string
from channels.urlencoded import Form

PUBLIC_URL = "http://127.0.0.1:8080"  # the sample config's: what Twilio signs
TWILIO_TOKEN = "sample-twilio-token"
PHONE_SECRET = "sample-phone-secret"
VOICE = "/hooks/twilio/voice"
SMS = "/hooks/twilio/sms"


def twilio_signature(url: str, fields: dict[str, str]) -> str:
    signed = url + params_string(Form(tuple(fields.items())))
    mac = hmac.digest(TWILIO_TOKEN.encode(), signed.encode(), "sha1")
    return base64.b64encode(mac).decode()


@dataclass
class TwilioRinging:
    """`POST /hooks/twilio/voice` for a new call each time, from `pool` known numbers."""

    run_id: str
    pool: int = 1000

    def request(self, i: int, at: float) -> bytes:
        fields = {
            "CallSid": f"CA{self.run_id}{i:024d}"[:34],
            "AccountSid": "AC" + "0" * 32,
            "From": phone(i % self.pool),
            "To": "+74950000010",
            "CallStatus": "ringing",
            "Direction": "inbound",
        }
        signature = ("X-Twilio-Signature", twilio_signature(PUBLIC_URL + VOICE, fields))
        body = urlencode(fields).encode()
        return http_request(VOICE, body, "application/x-www-form-urlencoded", signature)


@dataclass
class Ringing:
    """`POST /hooks/phone` ringing from one `caller` (whose open cases the screen pop lists)."""

    run_id: str
    caller: str

    def request(self, i: int, at: float) -> bytes:
        event = {"id": f"{self.run_id}-{i}", "event": "ringing", "call_id": f"{self.run_id}-{i}",
                 "from": self.caller, "to": "+74950000010"}  # fmt: skip
        body = json.dumps(event, separators=(",", ":")).encode()
        signature = ("X-Intake-Signature", sign(PHONE_SECRET, body, int(at)))
        return http_request("/hooks/phone", body, "application/json", signature)


@dataclass
class TwilioSms:
    """`POST /hooks/twilio/sms` as Twilio sends it: a new MessageSid each time, from `pool`
    known numbers, signed as its RequestValidator signs."""

    run_id: str
    pool: int = 10_000

    def request(self, i: int, at: float) -> bytes:
        fields = {
            "MessageSid": f"SM{self.run_id}{i:024x}"[:34],
            "AccountSid": "AC" + "0" * 32,
            "From": phone(i % self.pool),
            "To": "+74950000000",
            "Body": "Hello, my order #42 has not arrived yet, could you check where it is? Thanks",
            "NumMedia": "0",
        }
        signature = ("X-Twilio-Signature", twilio_signature(PUBLIC_URL + SMS, fields))
        body = urlencode(fields).encode()
        return http_request(SMS, body, "application/x-www-form-urlencoded", signature)
