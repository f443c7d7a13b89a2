"""The threading table of SPEC §4 end to end: mail through the real SMTP server into the
intake, read back through the API."""

# ruff: noqa: RUF001  (Cyrillic prefixes have letters that look Latin)

from __future__ import annotations

import base64
import quopri
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from channels.email.threading import make_message_id
from gateway.config import Config
from routing.keys import Keys
from tests.conftest import SAMPLE
from tests.smtp_helpers import ADMIN, all_cases, mail, messages, send, smtp_app

Gateway = tuple[TestClient, int]


@pytest.fixture
async def gw(aiohttp_client: Any, config: Config, redis_url: str, keys: Keys) -> Gateway:
    app, port = smtp_app(config, redis_url, keys)
    client: TestClient = await aiohttp_client(app)
    return client, port


async def first_case(gw: Gateway, **kwargs: Any) -> int:
    client, port = gw
    await send(port, mail("first mail", **kwargs))
    return int((await all_cases(client))[-1]["id"])


def encoded(text: str, charset: str, encoding: str) -> str:
    data = text.encode(charset)
    if encoding == "B":
        payload = base64.b64encode(data).decode()
    else:
        payload = quopri.encodestring(data, header=True).decode().replace("=\n", "")
    return f"=?{charset}?{encoding}?{payload}?="


def raw_mail(subject: str, text: str = "reply", sender: str = "ivan@example.org") -> bytes:
    return (
        f"From: {sender}\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    ).encode()


@pytest.mark.parametrize(
    "prefix", ["Re:", "RE:", "AW:", "Ответ:", "Отв:", "Fwd:", "SV:", "Re[2]:", "Re: AW: Fwd:"]
)
async def test_a_reply_with_the_tag_after_any_prefix_continues_the_case(
    gw: Gateway, prefix: str
) -> None:
    case_id = await first_case(gw)
    await send(gw[1], mail("the reply", subject=f"{prefix} [Case #{case_id}] Printer"))
    (case,) = await all_cases(gw[0])
    assert [e["text"].strip() for e in messages(case)] == ["first mail", "the reply"]


@pytest.mark.parametrize(
    ("charset", "encoding"), [("utf-8", "B"), ("utf-8", "Q"), ("koi8-r", "B"), ("koi8-r", "Q")]
)
async def test_the_tag_inside_encoded_subjects(gw: Gateway, charset: str, encoding: str) -> None:
    case_id = await first_case(gw)
    subject = encoded(f"Ответ: [Case #{case_id}] Не работает", charset, encoding)
    await send(gw[1], raw_mail(subject))
    (case,) = await all_cases(gw[0])
    assert len(messages(case)) == 2
    assert messages(case)[1]["subject"] == f"Ответ: [Case #{case_id}] Не работает"


async def test_the_tag_only_in_references(gw: Gateway) -> None:
    case_id = await first_case(gw)
    ours = make_message_id(case_id, "e1", "example.com")
    reply = mail("answer to your reply", subject="Re: Printer", In_Reply_To=ours,
                 References=f"<first@client.example.org> {ours}")  # fmt: skip
    await send(gw[1], reply)
    (case,) = await all_cases(gw[0])
    entry = messages(case)[1]
    assert entry["text"].strip() == "answer to your reply"
    assert entry["references"] == ["first@client.example.org", ours.strip("<>")]


async def test_a_stranger_quoting_the_tag_gets_a_new_related_case(gw: Gateway) -> None:
    case_id = await first_case(gw)
    stranger = mail("let me in", sender="eve@evil.example", subject=f"Re: [Case #{case_id}] x")
    await send(gw[1], stranger, mail_from="eve@evil.example")
    first, second = await all_cases(gw[0])
    assert [e["text"].strip() for e in messages(first)] == ["first mail"]
    assert second["related_case"] == case_id
    assert second["flags"] == ["foreign_case_reference"]
    assert second["contact"]["emails"] == ["eve@evil.example"]


async def test_a_participant_on_cc_may_write_to_the_case(gw: Gateway) -> None:
    case_id = await first_case(gw, Cc="Maria <Maria@Partner.example>, support@example.com")
    colleague = mail("I am on it too", sender="maria@partner.example",
                     subject=f"Re: [Case #{case_id}] Printer")  # fmt: skip
    await send(gw[1], colleague, mail_from="maria@partner.example")
    (case,) = await all_cases(gw[0])
    assert [e["from"] for e in messages(case)] == ["ivan@example.org", "maria@partner.example"]


async def test_a_tag_for_a_case_that_does_not_exist_opens_a_new_case(gw: Gateway) -> None:
    await send(gw[1], mail("hello", subject="Re: [Case #987654] old"))
    (case,) = await all_cases(gw[0])
    assert (case["related_case"], case["flags"]) == (None, [])


async def resolve(client: TestClient, case_id: int) -> None:
    answer = await client.post(f"/api/cases/{case_id}/resolve", headers=ADMIN)
    assert answer.status == 200, await answer.text()


async def test_a_resolved_case_reopens_within_reopen_within(gw: Gateway) -> None:
    case_id = await first_case(gw)
    await resolve(gw[0], case_id)
    await send(gw[1], mail("it broke again", subject=f"Re: [Case #{case_id}] Printer"))
    (case,) = await all_cases(gw[0])
    assert case["status"] != "resolved"
    assert [e.get("status") for e in case["timeline"] if e["kind"] == "status"][-1] == "reopened"


async def test_after_reopen_within_a_new_related_case(
    aiohttp_client: Any,
    write_config: Callable[[str], Config],
    redis_url: str,
    keys: Keys,
) -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace(
        'reopen_within = "7d"', 'reopen_within = "0s"'
    )
    app, port = smtp_app(write_config(text), redis_url, keys)
    client: TestClient = await aiohttp_client(app)
    case_id = await first_case((client, port))
    await resolve(client, case_id)
    await send(port, mail("it broke again", subject=f"Re: [Case #{case_id}] Printer"))
    old, new = await all_cases(client)
    assert old["status"] == "resolved" and len(messages(old)) == 1
    assert new["related_case"] == case_id and new["flags"] == []


async def test_the_contact_is_found_by_address_whatever_its_case_and_named_from_from(
    gw: Gateway,
) -> None:
    await send(gw[1], mail("one", sender="IVAN@Example.ORG"), mail_from="IVAN@Example.ORG")
    await send(gw[1], mail("two", sender="Иван Петров <ivan@example.org>"))
    first, second = await all_cases(gw[0])
    assert first["contact"]["id"] == second["contact"]["id"]
    assert second["contact"]["name"] == "Иван Петров"
    assert second["contact"]["emails"] == ["ivan@example.org"]


async def test_the_same_message_id_twice_is_stored_once(gw: Gateway) -> None:
    once = mail("only once", message_id="<dup@client.example.org>")
    await send(gw[1], once)
    await send(gw[1], once, to=("billing@example.com",))  # a second mailbox, same mail
    (case,) = await all_cases(gw[0])
    assert len(messages(case)) == 1


async def test_an_auto_reply_joins_the_case_flagged_auto_and_changes_nothing(gw: Gateway) -> None:
    case_id = await first_case(gw)
    await resolve(gw[0], case_id)
    away = mail("I am out of office", subject=f"Auto: [Case #{case_id}] Printer",
                Auto_Submitted="auto-replied")  # fmt: skip
    await send(gw[1], away)
    (case,) = await all_cases(gw[0])
    assert case["status"] == "resolved"  # a machine's mail reopens nothing
    entry = messages(case)[1]
    assert entry["auto"] is True and entry["text"].strip() == "I am out of office"


async def test_a_bounce_of_our_own_mail_joins_by_reference(gw: Gateway) -> None:
    case_id = await first_case(gw)
    ours = make_message_id(case_id, "e2", "example.com")
    bounce = mail("Delivery failed", sender="MAILER-DAEMON@mx.example.net",
                  subject="Undelivered Mail Returned to Sender", References=ours)  # fmt: skip
    await send(gw[1], bounce, mail_from="")
    (case,) = await all_cases(gw[0])
    assert [e.get("auto") for e in messages(case)] == [None, True]


async def test_machines_never_open_cases(gw: Gateway) -> None:
    client, port = gw
    case_id = await first_case(gw)
    await send(port, mail("Delivery failed", sender="MAILER-DAEMON@mx.example.net"), mail_from="")
    away = mail("away", sender="eve@evil.example", subject=f"Re: [Case #{case_id}]",
                Auto_Submitted="auto-replied")  # fmt: skip
    await send(port, away, mail_from="eve@evil.example")  # a stranger's: not even flagged
    (case,) = await all_cases(client)
    assert len(messages(case)) == 1
    lookup = await client.get("/api/contacts?email=eve@evil.example", headers=ADMIN)
    assert lookup.status == 404  # dropped mail leaves no contact behind
