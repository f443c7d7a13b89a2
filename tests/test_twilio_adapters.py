"""Twilio adapters against Twilio's own library: its RequestValidator signs every request here,
its TwiML builder writes the reference answers."""

from __future__ import annotations

import contextlib
import hashlib
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from channels.rejection import Rejected
from channels.twilio import signature, sms, voice
from channels.urlencoded import Form, parse_form
from gateway.http.errors import status_of

TOKEN = "9c3a1e2f5b7d4c6e8a0b1c2d3e4f5a6b"
PUBLIC = "https://gw.example.com"
SMS_PATH = "/hooks/twilio/sms"
FORM_TYPE = "application/x-www-form-urlencoded"
ACCOUNT = "AC" + "a1" * 16
MESSAGE = "SM" + "1f0e8ae6ade43cb3c0ce4525424e404f"
CALL = "CA" + "5ed4c7b1a0f9e8d7c6b5a4f3e2d1c0b9"
DIALLED = "CA" + "0123456789abcdef" * 2

Pairs = list[tuple[str, str]]


def sms_params(**extra: str) -> Pairs:
    params = {
        "ToCountry": "RU",
        "SmsMessageSid": MESSAGE,
        "NumMedia": "0",
        "From": "+79161234567",
        "To": "+74950000000",
        "Body": "Здравствуйте, заказ #42 + доставка & оплата = ?",
        "MessageSid": MESSAGE,
        "AccountSid": ACCOUNT,
        "ApiVersion": "2010-04-01",
    }
    params.update(extra)
    return list(params.items())


def sign(url: str, params: Pairs, token: str = TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, MultiDict(params)))


def headers(sig: str, content_type: str = FORM_TYPE) -> dict[str, str]:
    return {"X-Twilio-Signature": sig, "Content-Type": content_type}


def body(params: Pairs) -> bytes:
    return urlencode(params).encode()


def verify(url: str, params: Pairs, sig: str, **kwargs: str) -> Form:
    return signature.verify(TOKEN, url, headers(sig), body(params), **kwargs)


def test_accepts_what_twilio_signs() -> None:
    url = signature.request_url(PUBLIC + "/", SMS_PATH + "?tenant=a%20b")
    assert url == "https://gw.example.com/hooks/twilio/sms?tenant=a%20b"
    form = verify(url, sms_params(), sign(url, sms_params()))
    assert form.get("Body") == dict(sms_params())["Body"]


@pytest.mark.parametrize(
    ("signed_url", "sent_url", "sent_params"),
    [
        (PUBLIC + SMS_PATH, PUBLIC + SMS_PATH, sms_params(Body="changed")),
        (PUBLIC + SMS_PATH, PUBLIC + SMS_PATH, [*sms_params(), ("Extra", "1")]),
        (PUBLIC + SMS_PATH, PUBLIC + SMS_PATH, sms_params()[1:]),
        (PUBLIC + SMS_PATH, PUBLIC + "/hooks/twilio/voice", sms_params()),
        (PUBLIC + SMS_PATH + "?a=1", PUBLIC + SMS_PATH + "?a=2", sms_params()),
        (PUBLIC + SMS_PATH, "https://other.example.com" + SMS_PATH, sms_params()),
        (PUBLIC + SMS_PATH, "http://gw.example.com" + SMS_PATH, sms_params()),
        (PUBLIC + ":8443" + SMS_PATH, PUBLIC + ":9443" + SMS_PATH, sms_params()),
        (PUBLIC + ":8443" + SMS_PATH, PUBLIC + SMS_PATH, sms_params()),
    ],
)
def test_one_change_is_rejected_by_twilio_and_by_us(
    signed_url: str, sent_url: str, sent_params: Pairs
) -> None:
    sig = sign(signed_url, sms_params())
    assert not RequestValidator(TOKEN).validate(sent_url, MultiDict(sent_params), sig)
    with pytest.raises(Rejected) as caught:
        verify(sent_url, sent_params, sig)
    assert (caught.value.code, status_of(caught.value)) == ("bad_signature", 401)


def test_another_token_is_rejected() -> None:
    url = PUBLIC + SMS_PATH
    with pytest.raises(Rejected, match="does not match"):
        verify(url, sms_params(), sign(url, sms_params(), token=TOKEN[::-1]))


@pytest.mark.parametrize(
    ("signed_url", "public_url"),
    [
        ("https://gw.example.com:443/hooks/twilio/sms", "https://gw.example.com"),
        ("https://gw.example.com/hooks/twilio/sms", "https://gw.example.com:443"),
        ("http://gw.example.com:80/hooks/twilio/sms", "http://gw.example.com"),
        ("http://127.0.0.1:8080/hooks/twilio/sms", "http://127.0.0.1:8080"),
    ],
)
def test_standard_port_variants_are_accepted_as_by_the_validator(
    signed_url: str, public_url: str
) -> None:
    sig = sign(signed_url, sms_params())
    url = signature.request_url(public_url, SMS_PATH)
    assert RequestValidator(TOKEN).validate(url, MultiDict(sms_params()), sig)
    assert verify(url, sms_params(), sig).get("MessageSid") == MESSAGE


def test_repeated_names_sign_each_distinct_value_sorted() -> None:
    url = PUBLIC + SMS_PATH
    params = [*sms_params(), ("Tag", "b"), ("Tag", "a"), ("Tag", "b"), ("Empty", "")]
    sig = sign(url, params)
    reordered = [("Tag", "a"), *sms_params(), ("Empty", ""), ("Tag", "b")]
    assert RequestValidator(TOKEN).validate(url, MultiDict(reordered), sig)
    assert verify(url, reordered, sig).getall("Tag") == ["a", "b"]
    with pytest.raises(Rejected):
        verify(url, [*params, ("Tag", "c")], sig)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "missing_signature"),
        ("ünïcode-signature=", "bad_signature"),
        ("A" * 10_000, "bad_signature"),
        ("not-even-base64", "bad_signature"),
    ],
)
def test_bad_signature_headers_fail_closed(value: str, code: str) -> None:
    with pytest.raises(Rejected) as caught:
        verify(PUBLIC + SMS_PATH, sms_params(), value)
    assert caught.value.code == code


def test_missing_header_and_missing_token() -> None:
    with pytest.raises(Rejected) as missing:
        signature.verify(TOKEN, PUBLIC, {"Content-Type": FORM_TYPE}, b"")
    assert missing.value.code == "missing_signature"
    with pytest.raises(Rejected) as disabled:
        signature.verify("", PUBLIC, headers(sign(PUBLIC, [])), b"")
    assert disabled.value.code == "webhook_disabled"


def test_headers_are_matched_case_insensitively() -> None:
    url = PUBLIC + SMS_PATH
    lower = {"x-twilio-signature": sign(url, sms_params()), "content-type": FORM_TYPE + "; q=1"}
    assert signature.verify(TOKEN, url, lower, body(sms_params())).get("From") == "+79161234567"


@pytest.mark.parametrize("raw", [b"Body=%ff", b"Body=\xd0\x9f", b"Body&From=1", b"=%ed%a0%80"])
def test_bodies_that_are_not_urlencoded_utf8_are_malformed(raw: bytes) -> None:
    with pytest.raises(Rejected) as caught:
        parse_form(raw)
    assert (caught.value.code, status_of(caught.value)) == ("malformed_request", 400)


def test_a_non_form_body_without_body_hash_is_refused() -> None:
    with pytest.raises(Rejected) as caught:
        signature.verify(TOKEN, PUBLIC, headers("x", "application/json"), b"{}")
    assert status_of(caught.value) == 415


def test_json_bodies_are_covered_by_body_sha256() -> None:
    raw = '{"MessageSid": "SM1", "Body": "Привет"}'
    url = f"{PUBLIC}{SMS_PATH}?bodySHA256={hashlib.sha256(raw.encode()).hexdigest()}"
    sig = sign(url, [])
    assert RequestValidator(TOKEN).validate(url, raw, sig)
    json_headers = headers(sig, "application/json")
    assert signature.verify(TOKEN, url, json_headers, raw.encode()) == Form()
    assert not RequestValidator(TOKEN).validate(url, raw + " ", sig)
    with pytest.raises(Rejected, match="bodySHA256"):
        signature.verify(TOKEN, url, json_headers, raw.encode() + b" ")


def test_shared_key_sha256_signatures() -> None:
    url, key = PUBLIC + SMS_PATH, "webhooks-shared-key-secret"
    sig = RequestValidator(key).compute_signature(url, MultiDict(sms_params()), "HMAC_SHA256")
    settings = {"X-Twilio-Webhooks-Signature-Settings": "key=WKxx,algorithm=HMAC_SHA256"}
    both = headers(sig) | settings
    form = signature.verify(TOKEN, url, both, body(sms_params()), shared_key=key)
    assert form.get("MessageSid") == MESSAGE
    with pytest.raises(Rejected):  # no shared key configured: never fall back to the token
        signature.verify(TOKEN, url, both, body(sms_params()))
    unknown = both | {"X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_MD5"}
    with pytest.raises(Rejected):
        signature.verify(TOKEN, url, unknown, body(sms_params()), shared_key=key)


@given(
    raw=st.binary(max_size=300),
    sig=st.text(max_size=60),
    extra=st.dictionaries(st.text(max_size=40), st.text(max_size=40), max_size=3),
)
def test_verify_raises_nothing_but_rejected(raw: bytes, sig: str, extra: dict[str, str]) -> None:
    with contextlib.suppress(Rejected):
        signature.verify(TOKEN, PUBLIC + SMS_PATH, headers(sig) | extra, raw)


# SMS fields


def parsed_sms(params: Pairs) -> sms.TwilioSms:
    return sms.parse(Form(tuple(params)), "RU")


def test_sms_fields_become_an_inbound_message() -> None:
    media = {
        "NumMedia": "2",
        "MediaUrl0": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{MESSAGE}/Media/ME1",
        "MediaContentType0": "image/JPEG",
        "MediaUrl1": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{MESSAGE}/Media/ME2",
    }
    result = parsed_sms(sms_params(From="8 (916) 123-45-67", To="74950000000", **media))
    message = result.message
    assert (message.channel, message.dedupe_scope, message.delivery_id) == (
        "sms",
        "twilio-sms",
        MESSAGE,
    )
    assert (message.sender_phone, message.to, message.threading) == (
        "+79161234567",
        "+74950000000",
        "sms",
    )
    assert message.text == dict(sms_params())["Body"]
    assert result.account_sid == ACCOUNT
    assert [(m.url.rsplit("/", 1)[1], m.content_type) for m in result.media] == [
        ("ME1", "image/jpeg"),
        ("ME2", "application/octet-stream"),
    ]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"MessageSid": ""}, "missing_field", "MessageSid"),
        ({"MessageSid": "SM123"}, "invalid_field", "MessageSid"),
        ({"From": ""}, "missing_field", "From"),
        ({"Body": "a\x00b"}, "invalid_field", "Body"),
        ({"Body": "x" * 5000}, "invalid_field", "Body"),
        ({"NumMedia": "11"}, "invalid_field", "NumMedia"),
        ({"NumMedia": "-1"}, "invalid_field", "NumMedia"),
        ({"NumMedia": "\u0661"}, "invalid_field", "NumMedia"),
        ({"NumMedia": "1"}, "missing_field", "MediaUrl0"),
        ({"NumMedia": "1", "MediaUrl0": "file:///etc/passwd"}, "invalid_field", "MediaUrl0"),
    ],
)
def test_sms_field_errors_name_the_field(change: dict[str, str], code: str, field: str) -> None:
    with pytest.raises(Rejected) as caught:
        parsed_sms(sms_params(**change))
    assert (caught.value.code, caught.value.field, status_of(caught.value)) == (code, field, 422)


@given(st.lists(st.tuples(st.sampled_from([*dict(sms_params()), "MediaUrl0"]), st.text())))
def test_sms_parse_raises_nothing_but_rejected(pairs: Pairs) -> None:
    with contextlib.suppress(Rejected):
        parsed_sms(pairs)


API = "https://api.twilio.com"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        (f"{API}/2010-04-01/Accounts/{ACCOUNT}/Messages/{MESSAGE}/Media/ME1", True),
        ("https://API.twilio.com:443/2010-04-01/x", True),
        ("http://api.twilio.com/2010-04-01/x", False),
        ("https://api.twilio.com:8443/x", False),
        ("https://api.twilio.com.evil.com/x", False),
        ("https://api.twilio.com@evil.com/x", False),
        ("https://user:pw@api.twilio.com/x", False),
        ("https://evil.com\\@api.twilio.com/x", False),
        ("https://evil.com#@api.twilio.com/x", False),
        ("https://api.twilio.com./x", False),
        ("https://54.172.60.1/x", False),
        ("https://[::1]/x", False),
        ("https://2130706433/x", False),
        ("https://api%2etwilio.com/x", False),
        ("https://\u0430pi.twilio.com/x", False),
        (" https://api.twilio.com/x", False),
        ("https://api.twilio.com\n/x", False),
        ("https://api.twilio.com:99999/x", False),
        ("ftp://api.twilio.com/x", False),
        ("//api.twilio.com/x", False),
        ("", False),
    ],
)
def test_media_urls_only_on_the_api_host(url: str, allowed: bool) -> None:
    assert sms.media_url_allowed(url, API) is allowed


def test_media_urls_on_a_loopback_api_base() -> None:
    base = "http://127.0.0.1:8901"
    assert sms.media_url_allowed("http://127.0.0.1:8901/2010-04-01/m", base)
    assert not sms.media_url_allowed("http://127.0.0.1:8902/2010-04-01/m", base)
    assert not sms.media_url_allowed("http://localhost:8901/2010-04-01/m", base)


def test_empty_twiml() -> None:
    assert sms.twiml_empty() == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert ET.canonicalize(sms.twiml_empty()) == ET.canonicalize(str(VoiceResponse()))


# Voice


def voice_params(**extra: str) -> Pairs:
    params = {
        "AccountSid": ACCOUNT,
        "ApiVersion": "2010-04-01",
        "CallSid": CALL,
        "CallStatus": "ringing",
        "Called": "+74950000000",
        "Caller": "+79161234567",
        "Direction": "inbound",
        "From": "+79161234567",
        "To": "+74950000000",
    }
    params.update(extra)
    return list(params.items())


def test_voice_webhook_signed_and_parsed() -> None:
    url = PUBLIC + "/hooks/twilio/voice"
    form = verify(
        url, voice_params(From="89161234567"), sign(url, voice_params(From="89161234567"))
    )
    call = voice.parse_call(form, "RU")
    assert (call.call_sid, call.caller, call.called, call.status, call.direction) == (
        CALL,
        "+79161234567",
        "+74950000000",
        "ringing",
        "inbound",
    )
    assert not call.caller_withheld
    assert call.idempotency_key == f"{CALL}/ringing"


@pytest.mark.parametrize("caller", ["+266696687", "Anonymous", "", "+7378742833"])
def test_withheld_callers_have_no_number(caller: str) -> None:
    call = voice.parse_call(Form(tuple(voice_params(From=caller))), "RU")
    assert (call.caller, call.caller_raw, call.caller_withheld) == ("", caller, True)


def status(**extra: str) -> voice.CallStatus:
    return voice.parse_status(Form(tuple(voice_params(**{"CallStatus": "in-progress"} | extra))))


def test_status_callbacks_keys_per_dialled_leg_and_status() -> None:
    first = status(DialCallSid=DIALLED, DialCallStatus="no-answer", DialCallDuration="0")
    second = status(DialCallSid="CA" + "f" * 32, DialCallStatus="no-answer")
    assert first.outcome == "no-answer" and first.dial_call_duration == 0
    assert first.idempotency_key != second.idempotency_key
    replayed = status(DialCallSid=DIALLED, DialCallStatus="no-answer")
    assert first.idempotency_key == replayed.idempotency_key
    done = status(
        CallStatus="completed",
        CallDuration="95",
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1",
        RecordingSid="RE" + "b" * 32,
    )
    assert (done.outcome, done.call_duration, done.recording_url.rsplit("/", 1)[1]) == (
        "completed",
        95,
        "RE1",
    )
    assert done.idempotency_key == f"{CALL}/recording/RE{'b' * 32}"
    assert status(CallStatus="busy").idempotency_key == f"{CALL}/busy"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"CallStatus": "exploded"}, "CallStatus"),
        ({"DialCallStatus": "maybe"}, "DialCallStatus"),
        ({"DialCallDuration": "1e3"}, "DialCallDuration"),
        ({"DialCallDuration": "99999999999"}, "DialCallDuration"),
        ({"RecordingUrl": "javascript:alert(1)"}, "RecordingUrl"),
        ({"CallSid": "CA1"}, "CallSid"),
    ],
)
def test_status_field_errors_name_the_field(change: dict[str, str], field: str) -> None:
    with pytest.raises(Rejected) as caught:
        status(**change)
    assert caught.value.field == field


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [k for k, _ in voice_params()]
                + ["DialCallDuration", "RecordingUrl", "DialCallStatus"]
            ),
            st.text(),
        )
    )
)
def test_voice_parsers_raise_nothing_but_rejected(pairs: Pairs) -> None:
    for parse in (lambda f: voice.parse_call(f, "RU"), voice.parse_status):
        with contextlib.suppress(Rejected):
            parse(Form(tuple(pairs)))


def test_dial_matches_twilios_own_twiml() -> None:
    action = "https://gw.example.com/hooks/twilio/voice/status?case=7&leg=1"
    reference = VoiceResponse()
    reference.dial(timeout=20, action=action, caller_id="+74950000000").number("+74950000001")
    ours = voice.dial("+74950000001", 20, action, caller_id="+74950000000")
    assert ours.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert ET.canonicalize(ours) == ET.canonicalize(str(reference))


def test_voicemail_matches_twilios_own_twiml_and_escapes() -> None:
    text = 'Оставьте сообщение <после> "сигнала" & мы перезвоним'
    callback = "https://gw.example.com/hooks/twilio/voice/status?voicemail=1&x=<y>"
    reference = VoiceResponse()
    reference.say(text, language="ru-RU")
    reference.record(action=callback, max_length=120, play_beep=True)
    ours = voice.voicemail(text, "ru-RU", callback)
    assert ET.canonicalize(ours) == ET.canonicalize(str(reference))
    root = ET.fromstring(ours)
    assert root.find("Say").text == text  # type: ignore[union-attr]
    assert root.find("Record").get("action") == callback  # type: ignore[union-attr]


def test_twiml_builders_refuse_what_xml_cannot_carry() -> None:
    with pytest.raises(ValueError):
        voice.voicemail("bell\x07", "en-US", "https://x/y")
    assert 'timeout="5"' in voice.dial("+1", 0.4, "https://x/y")
    assert 'timeout="600"' in voice.dial("+1", 3600, "https://x/y")


def test_a_non_standard_port_is_never_dropped() -> None:
    # RequestValidator strips any port; Twilio writes a configured non-standard port, so a
    # signature over the URL without it was made for another service on the same host.
    sig = sign(PUBLIC + SMS_PATH, sms_params())
    url = signature.request_url(PUBLIC + ":8443", SMS_PATH)
    assert RequestValidator(TOKEN).validate(url, MultiDict(sms_params()), sig)
    with pytest.raises(Rejected):
        verify(url, sms_params(), sig)
