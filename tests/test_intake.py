"""The intake pipeline through its HTTP edges: SMS webhook, web forms and the read/write API.

Every test drives the real application against a real Valkey; Redis keys are looked at only to
prove that nothing was stored (the honeypot) or that exactly one contact was created.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import redis
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from gateway.config import Config
from routing.keys import Keys
from tests.conftest import ADMIN, SAMPLE, GatewayFactory, signed_sms

ANNA = {"Authorization": "Bearer sample-token-anna"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON_CLIENT = {"Accept": "application/json"}
SUPPORT = "Customer support"


def sample_with(replace: dict[str, str] | None = None, append: str = "") -> str:
    """The sample config's text with some lines replaced and TOML appended."""
    text = SAMPLE.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text + append


async def sms(client: TestClient, sender: str, text: str = "hello", **extra: Any) -> Any:
    payload = {"id": extra.pop("id", uuid.uuid4().hex), "from": sender, "to": "+74950000099"}
    response = await client.post("/hooks/sms", **signed_sms({**payload, "text": text, **extra}))
    assert response.status == 200, await response.text()
    return await response.json()


async def form(client: TestClient, body: dict[str, str], form_id: str = "contact") -> int:
    response = await client.post(f"/forms/{form_id}", json=body)
    assert response.status == 201, await response.text()
    case_id: int = (await response.json())["case_id"]
    return case_id


async def get_case(client: TestClient, case_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/cases/{case_id}", headers=ADMIN)
    assert response.status == 200, await response.text()
    case: dict[str, Any] = await response.json()
    return case


async def lookup(client: TestClient, **query: str) -> tuple[int, Any]:
    response = await client.get("/api/contacts", params=query, headers=ADMIN)
    assert response.content_type == "application/json"
    return response.status, await response.json()


async def all_cases(client: TestClient, **query: str) -> list[dict[str, Any]]:
    """Every case matching `query`, following cursors; fails on a repeated case."""
    found: list[dict[str, Any]] = []
    cursor = ""
    while True:
        params = {"limit": "200", **query, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/cases", params=params, headers=ADMIN)
        assert response.status == 200, await response.text()
        page = await response.json()
        found += page["cases"]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    ids = [case["id"] for case in found]
    assert len(ids) == len(set(ids)), ids
    return found


def messages(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry for entry in case["timeline"] if entry["kind"] == "message"]


def stored_keys(client: redis.Redis, keys: Keys) -> dict[bytes, bytes]:
    """Every key of this test with its serialized value (leases renew on their own: left out)."""
    names = sorted(client.scan_iter(match=f"{keys.prefix}*", count=1000))
    return {n: client.dump(n) or b"" for n in names if b":lease:" not in n}


# --- contacts: phone formats and e-mail case ---------------------------------------------


async def test_three_russian_formats_are_one_contact_in_e164(gateway: TestClient) -> None:
    answers = [
        await sms(gateway, raw) for raw in ("+7 916 123-45-67", "8 (916) 123-45-67", "79161234567")
    ]
    assert len({a["contact_id"] for a in answers}) == 1
    assert len({a["case_id"] for a in answers}) == 1  # SMS threading: one case
    for raw in ("+7 916 123-45-67", "8 (916) 123-45-67", "79161234567", "+79161234567"):
        status, found = await lookup(gateway, phone=raw)
        assert status == 200, found
        assert found["contact"]["id"] == answers[0]["contact_id"]
        assert found["contact"]["phones"] == ["+79161234567"]
    case = await get_case(gateway, answers[0]["case_id"])
    assert [m["from"] for m in messages(case)] == ["+79161234567"] * 3


async def test_polish_numbers_with_default_region_pl(
    make_gateway: GatewayFactory, write_config: Callable[[str], Config]
) -> None:
    config = write_config(sample_with({'default_region = "RU"': 'default_region = "PL"'}))
    client = await make_gateway(config)
    first = await sms(client, "+48 601 234 567")
    second = await sms(client, "601234567")
    assert first["contact_id"] == second["contact_id"]
    status, found = await lookup(client, phone="601 234 567")
    assert status == 200 and found["contact"]["phones"] == ["+48601234567"]
    # A Russian number still needs its country code when the default region is PL.
    other = await sms(client, "+7 916 123-45-67")
    assert other["contact_id"] != first["contact_id"]


async def test_an_invalid_number_is_kept_as_given_and_merged_with_nothing(
    gateway: TestClient,
) -> None:
    valid = await sms(gateway, "+7 916 123-45-67")
    short = await sms(gateway, "+7 916 123-45-6")  # a digit short of the valid one
    other = await sms(gateway, "12-34")
    assert len({valid["contact_id"], short["contact_id"], other["contact_id"]}) == 3
    case = await get_case(gateway, short["case_id"])
    assert case["contact"]["phones"] == ["+7 916 123-45-6"]
    assert messages(case)[0]["from"] == "+7 916 123-45-6"
    assert case["subject"] == f"+7 916 123-45-6 ({SUPPORT})"
    status, found = await lookup(gateway, phone="+7 916 123-45-6")
    assert status == 200 and found["contact"]["id"] == short["contact_id"]
    status, found = await lookup(gateway, phone="+79161234567")
    assert found["contact"]["phones"] == ["+79161234567"]
    # Another spelling of the same invalid digits is not the same contact either.
    assert (await sms(gateway, "1234"))["contact_id"] != other["contact_id"]


async def test_email_is_case_insensitive(gateway: TestClient) -> None:
    first = await form(gateway, {"name": "Ivan", "email": "Ivan@Example.COM", "message": "a"})
    second = await form(gateway, {"email": "ivan@example.com", "message": "b"})
    assert first != second  # web forms always open a new case
    one, two = await get_case(gateway, first), await get_case(gateway, second)
    assert one["contact"]["id"] == two["contact"]["id"]
    assert two["contact"]["emails"] == ["ivan@example.com"]
    for spelling in ("ivan@example.com", "IVAN@EXAMPLE.COM", "Ivan@Example.Com"):
        status, found = await lookup(gateway, email=spelling)
        assert status == 200, found
        assert found["contact"]["id"] == one["contact"]["id"]
        assert [c["id"] for c in found["open_cases"]] == [second, first]


# --- concurrency and idempotency ---------------------------------------------------------


async def test_50_concurrent_first_sms_make_one_contact_and_one_case(
    gateway: TestClient, sync_redis: redis.Redis, keys: Keys
) -> None:
    texts = [f"message {n}" for n in range(50)]
    answers = await asyncio.gather(*(sms(gateway, "+7 903 555-00-11", text) for text in texts))
    assert len({a["contact_id"] for a in answers}) == 1
    assert len({a["case_id"] for a in answers}) == 1
    case = await get_case(gateway, answers[0]["case_id"])
    assert sorted(m["text"] for m in messages(case)) == sorted(texts)
    assert len(await all_cases(gateway)) == 1
    assert sync_redis.hlen(keys.phone_index) == 1
    status, found = await lookup(gateway, phone="+79035550011")
    assert status == 200 and len(found["open_cases"]) == 1


async def test_the_same_sms_five_times_is_stored_once_with_identical_answers(
    gateway: TestClient,
) -> None:
    delivery = {"id": "sms-42", "from": "+79161234567", "to": "+74950000099", "text": "only once"}
    request = signed_sms(delivery)
    first = await gateway.post("/hooks/sms", **request)
    first_body = await first.read()
    rest = await asyncio.gather(*(gateway.post("/hooks/sms", **request) for _ in range(4)))
    bodies = [await r.read() for r in rest]
    assert [first.status, *(r.status for r in rest)] == [200] * 5
    assert bodies == [first_body] * 4
    case = await get_case(gateway, json.loads(first_body)["case_id"])
    assert [m["text"] for m in messages(case)] == ["only once"]
    # The id is the provider's: the same id re-signed later still changes nothing.
    resent = {"id": "sms-42", "from": "+79161234567", "to": "+74950000099", "text": "x"}
    again = await gateway.post("/hooks/sms", **signed_sms(resent))
    assert await again.read() == first_body
    assert len(messages(await get_case(gateway, case["id"]))) == 1


# --- web forms ---------------------------------------------------------------------------


async def test_urlencoded_form_from_a_json_client(gateway: TestClient) -> None:
    fields = {"name": "Olga", "phone": "8 916 000-11-22", "message": "Call me", "topic": "x"}
    response = await gateway.post("/forms/contact", data=fields, headers=JSON_CLIENT)
    assert response.status == 201 and response.content_type == "application/json"
    case = await get_case(gateway, (await response.json())["case_id"])
    assert (case["channel"], case["status"], case["service"]) == ("webform", "queued", "support")
    assert case["contact"]["name"] == "Olga" and case["contact"]["phones"] == ["+79160001122"]
    (entry,) = messages(case)
    assert (entry["direction"], entry["from"], entry["text"]) == ("in", "+79160001122", "Call me")
    assert entry["form"] == "contact" and entry["fields"]["topic"] == "x"


async def test_json_form_answers_201_with_the_case_id(gateway: TestClient) -> None:
    response = await gateway.post(
        "/forms/contact", json={"email": "json@example.org", "text": "From JSON"}
    )
    assert response.status == 201
    body = await response.json()
    assert list(body) == ["case_id"] and isinstance(body["case_id"], int)
    case = await get_case(gateway, body["case_id"])
    assert messages(case)[0]["text"] == "From JSON"
    assert case["contact"]["emails"] == ["json@example.org"]


async def test_browser_posts_are_redirected_to_the_forms_page(gateway: TestClient) -> None:
    fields = {"name": "Pyotr", "email": "p@example.org", "message": "from a browser"}
    response = await gateway.post(
        "/forms/contact", data=fields, headers=BROWSER, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/thanks"
    multipart = FormData(fields)
    response = await gateway.post(
        "/forms/contact", data=multipart, headers=BROWSER, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/thanks"
    cases = await all_cases(gateway)
    assert len(cases) == 2 and {c["contact"]["emails"][0] for c in cases} == {"p@example.org"}


async def test_multipart_attachments_are_kept_and_downloadable(gateway: TestClient) -> None:
    binary = bytes(range(256)) * 1000 + b"\r\n--boundary-lookalike\r\n\x00"
    text = "Счёт № 17\n".encode()
    data = FormData(quote_fields=False)  # UTF-8 file names as browsers send them
    data.add_field("name", "Мария")
    data.add_field("email", "maria@example.org")
    data.add_field("message", "Two files attached")
    data.add_field("file", binary, filename="scan.pdf", content_type="application/pdf")
    data.add_field("file2", text, filename="счёт 17.txt", content_type="text/plain")
    response = await gateway.post("/forms/contact", data=data, headers=JSON_CLIENT)
    assert response.status == 201, await response.text()
    case = await get_case(gateway, (await response.json())["case_id"])
    (entry,) = messages(case)
    assert entry["text"] == "Two files attached"
    described = [(a["name"], a["type"], a["size"]) for a in entry["attachments"]]
    assert described == [
        ("scan.pdf", "application/pdf", len(binary)),
        ("счёт 17.txt", "text/plain", len(text)),
    ]
    for attachment, expected in zip(entry["attachments"], (binary, text), strict=True):
        download = await gateway.get(attachment["url"], headers=ANNA)
        assert download.status == 200
        assert await download.read() == expected
        assert download.content_type == attachment["type"]
    missing = await gateway.get(f"/api/cases/{case['id']}/attachments/9", headers=ANNA)
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "attachment_not_found"


async def test_honeypot_is_accepted_and_nothing_is_stored(
    gateway: TestClient, sync_redis: redis.Redis, keys: Keys
) -> None:
    await form(gateway, {"email": "real@example.org", "message": "a person"})
    before = stored_keys(sync_redis, keys)
    bot = {"email": "bot@spam.example", "message": "buy", "website": "http://spam.example"}
    response = await gateway.post("/forms/contact", json=bot)
    assert response.status == 201
    response = await gateway.post(
        "/forms/contact", data=bot, headers=BROWSER, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/thanks"
    assert stored_keys(sync_redis, keys) == before
    status, _ = await lookup(gateway, email="bot@spam.example")
    assert status == 404


async def test_idempotency_key_on_forms(gateway: TestClient) -> None:
    body = {"email": "twice@example.org", "message": "double click"}
    key = {"Idempotency-Key": "form-submit-1"}
    answers = [await gateway.post("/forms/contact", json=body, headers=key) for _ in range(3)]
    assert [r.status for r in answers] == [201] * 3
    bodies = [await r.read() for r in answers]
    assert bodies == [bodies[0]] * 3
    other = await gateway.post(
        "/forms/contact", json=body, headers={"Idempotency-Key": "form-submit-2"}
    )
    assert (await other.json())["case_id"] != json.loads(bodies[0])["case_id"]
    cases = await all_cases(gateway)
    assert len(cases) == 2
    for case in cases:
        assert len(messages(await get_case(gateway, case["id"]))) == 1


async def test_default_subject_is_contact_name_or_number_and_service_name(
    gateway: TestClient,
) -> None:
    by_number = await sms(gateway, "+7 916 765-43-21")
    assert (await get_case(gateway, by_number["case_id"]))[
        "subject"
    ] == "+79167654321 (Customer support)"
    named = await form(gateway, {"name": "Anna K.", "phone": "+79161112233", "message": "m"})
    assert (await get_case(gateway, named))["subject"] == "Anna K. (Customer support)"
    billing = await form(gateway, {"name": "Anna K.", "phone": "+79161112233", "topic": "billing"})
    assert (await get_case(gateway, billing))["subject"] == "Anna K. (Billing)"
    given = await form(gateway, {"email": "s@example.org", "subject": "Broken router"})
    assert (await get_case(gateway, given))["subject"] == "Broken router"
    by_email = await form(gateway, {"email": "e@example.org", "message": "m"})
    assert (await get_case(gateway, by_email))["subject"] == "e@example.org (Customer support)"


# --- threading ---------------------------------------------------------------------------


async def test_sms_continue_the_newest_unresolved_sms_case_and_forms_always_open_new(
    make_gateway: GatewayFactory, write_config: Callable[[str], Config]
) -> None:
    # reopen_within 0s: a message on a resolved case opens a new one (reopening is routing's).
    client = await make_gateway(write_config(sample_with({'"7d"': '"0s"'})))
    first = await sms(client, "+79161234567", "one")
    form_case = await form(client, {"phone": "8 916 123-45-67", "message": "form"})
    assert form_case != first["case_id"]
    second = await sms(client, "+79161234567", "two")
    assert second["case_id"] == first["case_id"]  # not the newer web-form case
    form_again = await form(client, {"phone": "+79161234567", "message": "form 2"})
    assert form_again not in (form_case, first["case_id"])
    other = await sms(client, "+79990001122", "someone else")
    assert other["case_id"] != first["case_id"]

    resolved = await client.post(f"/api/cases/{first['case_id']}/resolve", headers=ADMIN)
    assert resolved.status == 200, await resolved.text()
    third = await sms(client, "+79161234567", "three")
    fourth = await sms(client, "+79161234567", "four")
    assert third["case_id"] not in (first["case_id"], form_case)
    assert fourth["case_id"] == third["case_id"]
    new_case = await get_case(client, third["case_id"])
    assert new_case["related_case"] == first["case_id"]
    assert [m["text"] for m in messages(new_case)] == ["three", "four"]
    old_case = await get_case(client, first["case_id"])
    assert [m["text"] for m in messages(old_case)] == ["one", "two"]
    status, found = await lookup(client, phone="+79161234567")
    assert status == 200
    assert first["case_id"] not in [c["id"] for c in found["open_cases"]]
    assert third["case_id"] in [c["id"] for c in found["open_cases"]]


# --- rules -------------------------------------------------------------------------------

RULES = """
[[rules]]
when = { channel = "sms", text = "(?i)refund" }
service = "billing"
type = "complaint"
priority = 2

[[rules]]
when = { channel = "webform", field.product = "router" }
type = "consultation"
"""


async def test_rules_choose_service_type_and_priority(
    make_gateway: GatewayFactory, write_config: Callable[[str], Config]
) -> None:
    client = await make_gateway(write_config(sample_with(append=RULES)))

    async def decided(case_id: int) -> tuple[str, str, int]:
        case = await get_case(client, case_id)
        return case["service"], case["type"], case["priority"]

    refund = await sms(client, "+79161230001", "I want a REFUND")
    assert await decided(refund["case_id"]) == ("billing", "complaint", 2)
    plain = await sms(client, "+79161230002", "hello")
    assert await decided(plain["case_id"]) == ("support", "request", 2)
    # The sample's rule for SMS to +74950000010 comes first and matches any spelling of it.
    dialled = {"id": "r1", "from": "+79161230003", "to": "8 495 000-00-10", "text": "refund"}
    response = await client.post("/hooks/sms", **signed_sms(dialled))
    assert await decided((await response.json())["case_id"]) == ("support", "consultation", 3)
    router = await form(client, {"email": "r@example.org", "product": "router"})
    assert await decided(router) == ("support", "consultation", 3)
    topic = await form(client, {"email": "t@example.org", "topic": "billing"})
    assert await decided(topic) == ("billing", "request", 2)


# --- case listing ------------------------------------------------------------------------


async def test_case_filters_limit_and_cursor_paging(
    make_gateway: GatewayFactory, write_config: Callable[[str], Config]
) -> None:
    client = await make_gateway(write_config(sample_with(append=RULES)))
    for n in range(7):
        await form(client, {"email": f"f{n}@example.org", "message": str(n)})
    for n in range(4):
        await sms(client, f"+7916000000{n}", "refund please")  # billing
    repeat = await sms(client, "+79160000000", "and another")  # continues, no new case
    created = list(range(11, 0, -1))

    everything = await all_cases(client)
    assert [c["id"] for c in everything] == created  # newest first, each once
    assert all(c["status"] == "queued" and "timeline" not in c for c in everything)
    for limit in (1, 3, 5, 11, 50):
        assert [c["id"] for c in await all_cases(client, limit=str(limit))] == created
    first_page = await client.get("/api/cases", params={"limit": "4"}, headers=ANNA)
    page = await first_page.json()
    assert [c["id"] for c in page["cases"]] == created[:4] and page["next_cursor"]

    # Chen is in billing only: once available, she gets billing cases, up to her SMS capacity.
    presence = await client.put(
        "/api/operators/chen/presence", json={"presence": "available"}, headers=ADMIN
    )
    assert presence.status == 200
    everything = await all_cases(client)
    by = {case["id"]: case for case in everything}

    def expect(check: Callable[[dict[str, Any]], bool]) -> list[int]:
        return [case_id for case_id in created if check(by[case_id])]

    filters: list[tuple[dict[str, str], list[int]]] = [
        ({"service": "billing"}, expect(lambda c: c["service"] == "billing")),
        ({"service": "support"}, expect(lambda c: c["service"] == "support")),
        ({"status": "queued"}, expect(lambda c: c["status"] == "queued")),
        ({"status": "assigned"}, expect(lambda c: c["status"] == "assigned")),
        ({"assignee": "chen"}, expect(lambda c: c["assignee"] == "chen")),
        ({"assignee": "anna"}, []),
        ({"contact": repeat["contact_id"]}, [repeat["case_id"]]),
        ({"service": "support", "status": "assigned"}, []),
        ({"status": "resolved"}, []),
    ]
    assert len(filters[0][1]) == 4 and len(filters[1][1]) == 7
    assert filters[4][1] and filters[4][1] == filters[3][1]
    for query, expected in filters:
        for limit in ("2", "200"):
            found = await all_cases(client, **query, limit=limit)
            assert [c["id"] for c in found] == expected, (query, limit)


async def test_manual_case_by_an_operator(gateway: TestClient) -> None:
    existing = await sms(gateway, "+79161234567", "earlier")
    body = {
        "contact": {"name": "Caller", "phone": "8 (916) 123-45-67"},
        "service": "billing",
        "type": "complaint",
        "subject": "Double charge",
        "text": "Called about a double charge",
    }
    response = await gateway.post("/api/cases", json=body, headers=ANNA)
    assert response.status == 201, await response.text()
    case = await response.json()
    assert case["contact"]["id"] == existing["contact_id"]
    assert case["id"] != existing["case_id"]
    assert (case["service"], case["type"], case["priority"]) == ("billing", "complaint", 1)
    assert case["subject"] == "Double charge" and case["status"] == "queued"
    (entry,) = messages(case)
    assert entry["text"] == "Called about a double charge" and entry["from"] == "+79161234567"
    assert (await get_case(gateway, case["id"]))["timeline"] == case["timeline"]

    plain = await gateway.post(
        "/api/cases", json={"contact": {"email": "New@Example.org"}, "text": "t"}, headers=ANNA
    )
    assert plain.status == 201
    made = await plain.json()
    assert (made["service"], made["type"], made["priority"]) == ("support", "request", 2)
    assert made["subject"] == "new@example.org (Customer support)"
    assert made["contact"]["emails"] == ["new@example.org"]


async def test_contact_lookup_with_open_cases_and_404(gateway: TestClient) -> None:
    answer = await sms(gateway, "+79161234567")
    web = await form(gateway, {"name": "Ivan", "phone": "89161234567", "email": "i@example.org"})
    status, found = await lookup(gateway, phone="+7 (916) 123 45 67")
    assert status == 200
    assert found["contact"] == {
        "id": answer["contact_id"],
        "name": "Ivan",
        "phones": ["+79161234567"],
        "emails": ["i@example.org"],
        "owner": None,
        "category": None,
    }
    assert [c["id"] for c in found["open_cases"]] == [web, answer["case_id"]]
    assert all(c["contact"]["id"] == answer["contact_id"] for c in found["open_cases"])
    assert (await lookup(gateway, email="I@EXAMPLE.ORG"))[1] == found

    for query in ({"phone": "+79990000000"}, {"email": "nobody@example.org"}):
        status, body = await lookup(gateway, **query)
        assert status == 404
        assert body == {"error": {"code": "contact_not_found", "message": body["error"]["message"]}}
        assert body["error"]["message"]
