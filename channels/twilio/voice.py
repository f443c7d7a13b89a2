"""Twilio Voice: the incoming-call webhook, the status/`<Dial action>` callback, TwiML answers.

A withheld caller ID (channels.callerid) leaves `caller` empty so that it can never match or
create a shared contact. Status callbacks are keyed per call, dialled leg and status: one call
may dial several operators in turn and hear `no-answer` from each of them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from channels import validate
from channels.callerid import is_withheld
from channels.phones import normalize
from channels.rejection import invalid
from channels.twilio.sids import sid
from channels.urlencoded import Form

CALL_STATUSES = frozenset(
    {
        "queued",
        "initiated",
        "ringing",
        "in-progress",
        "completed",
        "busy",
        "failed",
        "no-answer",
        "canceled",
    }
)
DIAL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})
MAX_SECONDS = 10**7  # about four months: more is not one call
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
DIAL_TIMEOUT = (5, 600)  # seconds; Twilio's accepted range for <Dial timeout>


@dataclass(frozen=True)
class VoiceCall:
    call_sid: str
    account_sid: str
    caller: str  # E.164 when parseable, as given otherwise, "" when withheld
    caller_raw: str
    caller_withheld: bool
    called: str
    status: str
    direction: str
    forwarded_from: str

    @property
    def idempotency_key(self) -> str:
        return f"{self.call_sid}/{self.status}"


@dataclass(frozen=True)
class CallStatus:
    call_sid: str
    call_status: str
    dial_call_sid: str
    dial_call_status: str  # "" unless this is the <Dial action> callback
    dial_call_duration: int | None
    call_duration: int | None
    recording_url: str
    recording_sid: str
    recording_duration: int | None

    @property
    def outcome(self) -> str:
        """The dialled operator's result when there is one, else the call's."""
        return self.dial_call_status or self.call_status

    @property
    def idempotency_key(self) -> str:
        if self.dial_call_status:
            return f"{self.call_sid}/{self.dial_call_sid or '-'}/{self.dial_call_status}"
        if self.recording_sid:
            return f"{self.call_sid}/recording/{self.recording_sid}"
        return f"{self.call_sid}/{self.call_status}"


def parse_call(form: Form, region: str) -> VoiceCall:
    """The verified form of `POST /hooks/twilio/voice`."""
    raw = form.text("From", required=False, max_len=128)
    withheld = is_withheld(raw)
    return VoiceCall(
        call_sid=sid(form, "CallSid"),
        account_sid=sid(form, "AccountSid", required=False),
        caller="" if withheld else normalize(raw, region),
        caller_raw=raw,
        caller_withheld=withheld,
        called=normalize(form.text("To", max_len=128), region),
        status=_status(form, "CallStatus", CALL_STATUSES, required=True),
        direction=form.text("Direction", required=False, max_len=32),
        forwarded_from=normalize(form.text("ForwardedFrom", required=False, max_len=128), region),
    )


def parse_status(form: Form) -> CallStatus:
    """The verified form of `POST /hooks/twilio/voice/status` (status or <Dial action>)."""
    recording = form.get("RecordingUrl")
    return CallStatus(
        call_sid=sid(form, "CallSid"),
        call_status=_status(form, "CallStatus", CALL_STATUSES, required=True),
        dial_call_sid=sid(form, "DialCallSid", required=False),
        dial_call_status=_status(form, "DialCallStatus", DIAL_STATUSES, required=False),
        dial_call_duration=form.whole("DialCallDuration", MAX_SECONDS),
        call_duration=form.whole("CallDuration", MAX_SECONDS),
        recording_url=validate.http_url(recording, "RecordingUrl") if recording else "",
        recording_sid=sid(form, "RecordingSid", required=False),
        recording_duration=form.whole("RecordingDuration", MAX_SECONDS),
    )


def _status(form: Form, name: str, allowed: frozenset[str], *, required: bool) -> str:
    value = form.text(name, required=required, max_len=32)
    if value and value not in allowed:
        raise invalid(name, f"'{name}' must be one of {', '.join(sorted(allowed))}.")
    return value


def dial(number: str, timeout: float, action_url: str, caller_id: str | None = None) -> str:
    """Ring `number` for `timeout` seconds; Twilio then posts the outcome to `action_url`."""
    low, high = DIAL_TIMEOUT
    attributes = {"timeout": str(min(max(round(timeout), low), high)), "action": action_url}
    if caller_id:
        attributes["callerId"] = caller_id
    response = ET.Element("Response")
    dialled = ET.SubElement(response, "Dial", _xml(attributes))
    ET.SubElement(dialled, "Number").text = _xml_text(number)
    return _render(response)


def voicemail(
    say_text: str, language: str, recording_callback_url: str, max_length: int = 120
) -> str:
    """Say `say_text`, then record a message; Twilio posts the recording to the callback."""
    response = ET.Element("Response")
    ET.SubElement(response, "Say", _xml({"language": language})).text = _xml_text(say_text)
    record = {"action": recording_callback_url, "maxLength": str(max_length), "playBeep": "true"}
    ET.SubElement(response, "Record", _xml(record))
    return _render(response)


def _xml(attributes: dict[str, str]) -> dict[str, str]:
    return {name: _xml_text(value) for name, value in attributes.items()}


def _xml_text(value: str) -> str:
    # ElementTree escapes markup but writes characters XML 1.0 forbids as they are.
    if NOT_XML.search(value):
        raise ValueError(f"{value!r} holds a character XML cannot carry")
    return value


def _render(response: ET.Element) -> str:
    return XML_DECLARATION + ET.tostring(response, encoding="unicode")
