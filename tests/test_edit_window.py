"""[cases].edit_window: after resolve an operator may edit, add notes or reopen only this long
(the injected clock moves past it); the admin always may, customers' messages keep following
reopen_within."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from gateway.runtime.clock import SettableClock
from tests.workflow_helpers import Start, as_op, available, call, case, clock, sms, start

__all__ = ["clock", "start"]  # fixtures

SENDER = "+79161112233"


async def _resolved(client: TestClient) -> int:
    case_id = await sms(client, sender=SENDER)
    await call(client, "POST", f"/api/cases/{case_id}/accept", headers=as_op("a"))
    await call(client, "POST", f"/api/cases/{case_id}/resolve", headers=as_op("a"))
    return case_id


async def test_edits_at_4m59s_succeed_and_at_5m01s_are_409(
    start: Start, clock: SettableClock
) -> None:
    client = await start()
    await available(client, "a")
    case_id = await _resolved(client)
    clock.advance(4 * 60 + 59)
    path = f"/api/cases/{case_id}"
    await call(client, "PATCH", path, {"subject": "late edit"}, headers=as_op("a"))
    await call(
        client, "POST", f"{path}/note", {"text": "late note"}, headers=as_op("a"), status=201
    )
    clock.advance(2)  # 5 min 1 s after resolve
    for method, suffix, body, status in (
        ("PATCH", "", {"subject": "too late"}, 409),
        ("POST", "/note", {"text": "too late"}, 409),
        ("POST", "/reopen", None, 409),
    ):
        answer = await call(client, method, path + suffix, body, headers=as_op("a"), status=status)
        assert answer["error"]["code"] == "edit_window_closed"
    found = await case(client, case_id)
    assert found["subject"] == "late edit" and found["status"] == "resolved"
    assert [e["text"] for e in found["timeline"] if e["kind"] == "note"] == ["late note"]
    # the admin still may
    await call(client, "PATCH", path, {"subject": "admin edit"})
    await call(client, "POST", f"{path}/note", {"text": "admin note"}, status=201)
    reopened = await call(client, "POST", f"{path}/reopen")
    assert (reopened["status"], reopened["assignee"]) == ("assigned", "a")


async def test_an_operator_reopens_within_the_window(start: Start, clock: SettableClock) -> None:
    client = await start()
    await available(client, "a")
    case_id = await _resolved(client)
    clock.advance(4 * 60 + 59)
    answer = await call(
        client, "POST", f"/api/cases/{case_id}/reopen", headers=as_op("b"), status=403
    )
    assert answer["error"]["code"] == "not_yours"
    reopened = await call(client, "POST", f"/api/cases/{case_id}/reopen", headers=as_op("a"))
    assert (reopened["status"], reopened["assignee"], reopened["resolved_at"]) == (
        "assigned",
        "a",
        None,
    )
    assert reopened["sla"]["reaction_due"] is not None  # its clocks start afresh
    answer = await call(client, "POST", f"/api/cases/{case_id}/reopen", status=409)
    assert answer["error"]["code"] == "not_resolved"


async def test_customer_messages_still_follow_reopen_within(
    start: Start, clock: SettableClock
) -> None:
    client = await start()
    await available(client, "a")
    case_id = await _resolved(client)
    clock.advance(3600)  # far past the edit window, well within reopen_within (7d)
    assert await sms(client, sender=SENDER) == case_id
    assert (await case(client, case_id))["status"] == "assigned"
