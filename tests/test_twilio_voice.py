"""Twilio Voice: signed by Twilio's own RequestValidator, routed to operators' phones as TwiML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from tests.phone_calls import ADMIN, available, calls_of, case, load

PUBLIC = "http://127.0.0.1:8080"  # the sample's [gateway].public_url: what Twilio signs
TOKEN = "sample-twilio-token"
VOICE, STATUS = "/hooks/twilio/voice", "/hooks/twilio/voice/status"
ANNA, BORIS = "+74950000001", "+74950000002"


async def twilio(
    client: TestClient,
    path: str,
    params: dict[str, str],
    *,
    token: str = TOKEN,
    signed_url: str | None = None,
    expect: int = 200,
) -> str:
    signature = RequestValidator(token).compute_signature(signed_url or PUBLIC + path, params)
    response = await client.post(path, data=params, headers={"X-Twilio-Signature": signature})
    body = await response.text()
    assert response.status == expect, body
    return body


def incoming(call_sid: str, caller: str) -> dict[str, str]:
    return {"CallSid": call_sid, "AccountSid": "AC" + "0" * 32, "From": caller,
            "To": "+74950000010", "CallStatus": "ringing", "Direction": "inbound"}  # fmt: skip


def dial_result(call_sid: str, leg: str, status: str, **more: str) -> dict[str, str]:
    params = {**incoming(call_sid, "+79160000000"), "CallStatus": "in-progress"}
    return {**params, "DialCallSid": leg, "DialCallStatus": status, **more}


def dialled(twiml: str) -> str | None:
    """The number a TwiML answer dials, or None for voicemail."""
    root = ET.fromstring(twiml)
    number = root.find("Dial/Number")
    if number is None:
        assert root.find("Record") is not None, twiml
        return None
    dial = root.find("Dial")
    assert dial is not None
    assert dial.get("timeout") == "20" and dial.get("action") == PUBLIC + STATUS
    return number.text


async def case_of_call(client: TestClient, caller: str) -> dict[str, Any]:
    response = await client.get(f"/api/contacts?phone={caller}", headers=ADMIN)
    [found] = (await response.json())["open_cases"]
    return await case(client, found["id"])


async def owned_by(client: TestClient, caller: str, owner: str) -> None:
    """A known client: a contact (from a billing case, another service) whose owner is set."""
    body = {"contact": {"phone": caller}, "service": "billing", "text": "invoice"}
    response = await client.post("/api/cases", json=body, headers=ADMIN)
    assert response.status == 201, await response.text()
    case_id = (await response.json())["id"]
    contact = (await case(client, case_id))["contact"]["id"]
    response = await client.post(f"/api/cases/{case_id}/resolve", headers=ADMIN)
    assert response.status == 200, await response.text()  # it holds no phone line any more
    response = await client.patch(f"/api/contacts/{contact}", json={"owner": owner}, headers=ADMIN)
    assert response.status == 200, await response.text()


async def test_owner_first_then_least_loaded_when_the_owner_is_on_a_call(
    gateway: TestClient,
) -> None:
    await owned_by(gateway, "+79161000001", "boris")
    await owned_by(gateway, "+79161000002", "boris")
    await available(gateway, "anna", "boris")

    first = await twilio(gateway, VOICE, incoming("CA" + "1" * 32, "8 916 100-00-01"))
    assert dialled(first) == BORIS  # sticky_owner, though anna is as free and sorts first
    second = await twilio(gateway, VOICE, incoming("CA" + "2" * 32, "+79161000002"))
    assert dialled(second) == ANNA  # boris's one phone line is taken
    assert (await load(gateway, "boris"))["phone"] == 1


async def test_nobody_available_takes_a_voicemail_and_flags_a_callback(
    gateway: TestClient,
) -> None:
    twiml = await twilio(gateway, VOICE, incoming("CA" + "3" * 32, "+79162000000"))

    root = ET.fromstring(twiml)
    say, record = root.find("Say"), root.find("Record")
    assert say is not None and record is not None
    assert say.get("language") == "en-US" and "leave a message" in (say.text or "")
    assert record.get("action") == PUBLIC + STATUS
    found = await case_of_call(gateway, "+79162000000")
    assert (found["status"], found["flags"]) == ("queued", ["callback"])

    recording = {**incoming("CA" + "3" * 32, "+79162000000"), "CallStatus": "completed"}
    recording |= {"RecordingSid": "RE" + "3" * 32, "RecordingDuration": "7",
                  "RecordingUrl": "https://api.twilio.com/2010-04-01/Recordings/RE3"}  # fmt: skip
    await twilio(gateway, STATUS, recording)
    await twilio(gateway, STATUS, {**recording, "RecordingSid": ""})  # the call's own end
    found = await case_of_call(gateway, "+79162000000")
    [entry] = calls_of(found)
    assert entry["missed"] is True and entry["recording_url"].endswith("/Recordings/RE3")
    [callback] = [e for e in found["timeline"] if e["kind"] == "callback"]  # one, due now
    assert (callback["callback"], callback["attempt"], found["status"]) == ("public", 1, "queued")


async def test_no_answer_dials_the_next_never_the_same_twice(gateway: TestClient) -> None:
    await available(gateway, "anna", "boris")
    sid = "CA" + "4" * 32
    assert dialled(await twilio(gateway, VOICE, incoming(sid, "+79163000000"))) == ANNA

    to_boris = await twilio(gateway, STATUS, dial_result(sid, "CA" + "a" * 32, "no-answer"))
    assert dialled(to_boris) == BORIS
    before = await case_of_call(gateway, "+79163000000")
    replay = await twilio(gateway, STATUS, dial_result(sid, "CA" + "a" * 32, "no-answer"))
    assert replay == to_boris
    assert await case_of_call(gateway, "+79163000000") == before  # nothing new stored

    to_voicemail = await twilio(gateway, STATUS, dial_result(sid, "CA" + "b" * 32, "busy"))
    assert dialled(to_voicemail) is None  # anna declined already: never rung again
    found = await case_of_call(gateway, "+79163000000")
    assert (found["status"], found["flags"]) == ("queued", ["callback"])
    assert ((await load(gateway, "anna"))["total"], (await load(gateway, "boris"))["total"]) == (
        0,
        0,
    )


async def test_completed_dial_logs_the_call_with_duration_and_recording(
    gateway: TestClient,
) -> None:
    await available(gateway, "anna")
    sid = "CA" + "5" * 32
    await twilio(gateway, VOICE, incoming(sid, "+79164000000"))
    done = dial_result(sid, "CA" + "c" * 32, "completed", DialCallDuration="61",
                       RecordingUrl="https://api.twilio.com/2010-04-01/Recordings/RE5")  # fmt: skip
    assert ET.fromstring(await twilio(gateway, STATUS, done)).tag == "Response"
    await twilio(gateway, STATUS, done)

    found = await case_of_call(gateway, "+79164000000")
    assert (found["status"], found["assignee"], found["flags"]) == ("in_progress", "anna", [])
    [entry] = calls_of(found)
    assert (entry["operator"], entry["duration"]) == ("anna", 61)
    assert entry["recording_url"].endswith("/Recordings/RE5")


async def test_a_replayed_call_sid_and_status_stores_nothing_new(gateway: TestClient) -> None:
    await available(gateway, "anna")
    params = incoming("CA" + "6" * 32, "+79165000000")
    first = await twilio(gateway, VOICE, params)
    before = await case_of_call(gateway, "+79165000000")
    assert await twilio(gateway, VOICE, params) == first
    assert await case_of_call(gateway, "+79165000000") == before
    response = await gateway.get("/api/cases", headers=ADMIN)
    assert len((await response.json())["cases"]) == 1


async def test_anything_changed_after_signing_is_refused(gateway: TestClient) -> None:
    params = incoming("CA" + "7" * 32, "+79166000000")
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + VOICE, params)
    tampered = {**params, "From": "+79166000001"}
    response = await gateway.post(VOICE, data=tampered, headers={"X-Twilio-Signature": signature})
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "bad_signature"
    for refused in (
        await twilio(gateway, VOICE, params, token="another-token", expect=401),
        await twilio(gateway, VOICE, params, signed_url=PUBLIC + STATUS, expect=401),
        await twilio(gateway, VOICE + "?x=1", params, signed_url=PUBLIC + VOICE, expect=401),
    ):
        assert '"bad_signature"' in refused
    response = await gateway.get("/api/cases", headers=ADMIN)
    assert (await response.json())["cases"] == []
