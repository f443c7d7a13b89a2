"""The operator console and the hosted web form in headless Chromium, against the real app.

The gateway runs on a real loopback port (aiohttp's test server); the browser talks to it the
way an operator's or a customer's browser would. Screenshots land in the test's tmp dir.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient
from playwright.async_api import Page, expect

from bench.browser import record
from gateway.http.api.operators import close_streams
from tests.browser import PHONE, dialogs
from tests.conftest import ADMIN, signed_sms

ANNA = {"Authorization": "Bearer sample-token-anna"}
BORIS = {"Authorization": "Bearer sample-token-boris"}
HOSTILE = "Hi <img src=x onerror=alert(1)> and <script>alert(2)</script> & bye"


def url(gateway: TestClient, path: str) -> str:
    return str(gateway.make_url(path))


def item(page: Page, case_id: int) -> str:
    return f"[data-testid=case-item][data-case-id='{case_id}']"


async def sign_in(page: Page, gateway: TestClient, token: str = "sample-token-anna") -> None:
    await page.goto(url(gateway, f"/console#token={token}"))
    await expect(page.get_by_test_id("work-list")).to_be_attached()
    await expect(page.locator("#link")).to_have_text("Live")


async def go_available(page: Page) -> None:
    presence = page.get_by_test_id("presence")
    await presence.select_option("available")
    await expect(presence).to_have_attribute("data-presence", "available")  # the server's answer
    await expect(page.locator("#work-summary")).to_have_text("Load 0 of 6")


async def test_an_operators_shift_in_the_console(
    page: Page, gateway: TestClient, tmp_path: Path
) -> None:
    fired = dialogs(page)
    await sign_in(page, gateway)
    assert "token" not in page.url  # kept out of the address bar and the history
    await go_available(page)

    # An SMS through the signed webhook: assigned to anna, it appears without a reload.
    sms = {"id": "b1", "from": "+79161234567", "to": "+74950000000", "text": HOSTILE}
    sms_case = (await (await gateway.post("/hooks/sms", **signed_sms(sms))).json())["case_id"]
    await expect(page.locator(item(page, sms_case))).to_be_visible()
    await expect(page.locator("#badge")).to_have_text("1")

    # A case registered by hand is a phone case: the sample offers those for 20 s.
    manual = {"contact": {"phone": "+79160000077", "name": "Olga"}, "text": "call me back"}
    made = await (await gateway.post("/api/cases", json=manual, headers=ADMIN)).json()
    offered = page.locator(item(page, made["id"]))
    await expect(offered.locator(".countdown")).to_contain_text("s left")
    await page.screenshot(path=tmp_path / "work-list.png")
    await offered.get_by_test_id("offer-accept").click()
    await expect(page.get_by_test_id("case-view")).to_be_visible()
    await expect(page.locator("#case-meta .status")).to_have_text("In progress")
    await expect(offered.get_by_test_id("offer-accept")).to_have_count(0)
    assert (await (await gateway.get(f"/api/cases/{made['id']}", headers=ANNA)).json())[
        "status"
    ] == "in_progress"

    # The hostile SMS, opened: its text is shown literally and nothing of it runs.
    await page.locator(item(page, sms_case)).locator("button.open").click()
    timeline = page.get_by_test_id("timeline")
    await expect(timeline.get_by_test_id("timeline-entry").first).to_contain_text(HOSTILE)
    assert await timeline.locator("img, script").count() == 0
    await expect(page.locator("#contact")).to_contain_text("+79161234567")

    await page.get_by_test_id("note-input").fill("Asked for the order number <b>4711</b>")
    await page.get_by_role("button", name="Add note").click()
    await expect(timeline.locator(".k-note")).to_contain_text("<b>4711</b>")
    await page.screenshot(path=tmp_path / "case-view.png")
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=tmp_path / "phone-case.png", full_page=True)
    await page.get_by_role("button", name="← My work").click()
    await page.screenshot(path=tmp_path / "phone-work.png", full_page=True)
    await page.locator(item(page, sms_case)).locator("button.open").click()

    await page.get_by_test_id("resolve").click()
    await expect(page.locator(item(page, sms_case))).to_have_count(0)
    await expect(page.locator(item(page, made["id"]))).to_be_attached()
    stored = await (await gateway.get(f"/api/cases/{sms_case}", headers=ANNA)).json()
    assert stored["status"] == "resolved"
    assert [e["text"] for e in stored["timeline"] if e["kind"] == "note"] == [
        "Asked for the order number <b>4711</b>"
    ]
    assert fired == []


async def test_sign_in_by_typing_the_token_and_search_by_phone(
    page: Page, gateway: TestClient
) -> None:
    sms = {"id": "s1", "from": "+79162223344", "to": "+74950000000", "text": "where is it?"}
    case_id = (await (await gateway.post("/hooks/sms", **signed_sms(sms))).json())["case_id"]
    await page.goto(url(gateway, "/console"))
    await page.get_by_test_id("token-input").fill("not-a-token")
    await page.keyboard.press("Enter")
    await expect(page.locator("#signin-error")).to_have_text("The bearer token is not valid.")
    await page.get_by_test_id("token-input").fill("sample-token-boris")
    await page.keyboard.press("Enter")
    await expect(page.locator("#who")).to_have_text("Boris Ivanov")

    search = page.get_by_test_id("contact-search")
    await search.fill("8 (916) 222-33-44")  # the same number, written another way
    await search.press("Enter")
    results = page.locator("#search-results")
    await expect(results).to_contain_text("+79162223344")
    await results.get_by_role("button", name=f"#{case_id} ").click()
    await expect(page.get_by_test_id("timeline")).to_contain_text("where is it?")

    await search.fill(f"#{case_id}")
    await search.press("Enter")
    await expect(results.get_by_role("button", name=f"#{case_id} ")).to_be_visible()

    await page.reload()  # the token stays for the browser tab's session
    await expect(page.locator("#who")).to_have_text("Boris Ivanov")


async def test_start_pause_resume_and_transfer(page: Page, gateway: TestClient) -> None:
    await sign_in(page, gateway)
    await go_available(page)
    sms = {"id": "p1", "from": "+79163334455", "to": "+74950000000", "text": "any news?"}
    case_id = (await (await gateway.post("/hooks/sms", **signed_sms(sms))).json())["case_id"]
    await page.locator(item(page, case_id)).locator("button.open").click()
    status = page.locator("#case-meta .status")
    await expect(status).to_have_text("Assigned")
    await page.get_by_role("button", name="Start work").click()
    await expect(status).to_have_text("In progress")

    # The stream drops (the gateway ends its streams as on shutdown); what happens meanwhile
    # comes with the reconnect (Last-Event-ID): the new case arrives as new, with its badge.
    await close_streams(gateway.server.app)
    await expect(page.locator("#link")).to_have_text("Reconnecting…")
    other = {"id": "p0", "from": "+79163334466", "to": "+74950000000", "text": "me too"}
    other_case = (await (await gateway.post("/hooks/sms", **signed_sms(other))).json())["case_id"]
    await expect(page.locator(item(page, other_case)).locator(".dot")).to_have_text("new")
    await expect(page.locator("#link")).to_have_text("Live")

    # A second message on the open case shows up in its timeline live.
    again = {"id": "p2", "from": "+79163334455", "to": "+74950000000", "text": "hello??"}
    await gateway.post("/hooks/sms", **signed_sms(again))
    await expect(page.get_by_test_id("timeline")).to_contain_text("hello??")

    await page.locator("#pause-box summary").click()
    await page.get_by_label("Reason").fill("Waiting for the courier")
    await page.get_by_label("Resume at (optional)").fill("2999-01-01T09:30")
    await page.get_by_role("button", name="Pause case").click()
    await expect(status).to_have_text("Waiting")
    await expect(page.get_by_test_id("timeline")).to_contain_text("Waiting for the courier")
    await page.get_by_role("button", name="Resume").click()
    await expect(status).to_have_text("In progress")

    await page.locator("#transfer-box summary").click()
    await page.get_by_label("To", exact=True).select_option("operator:boris")
    await page.get_by_role("button", name="Transfer case").click()
    await expect(page.locator(item(page, case_id))).to_have_count(0)
    stored = await (await gateway.get(f"/api/cases/{case_id}", headers=ANNA)).json()
    assert stored["assignee"] == "boris"


async def test_the_first_load_is_small_and_stays_on_the_gateway(
    page: Page, gateway: TestClient
) -> None:
    load = record(page)
    await sign_in(page, gateway)
    await page.wait_for_load_state("load")
    origin = url(gateway, "/")
    assert load.foreign(origin) == []
    assert any(u.endswith("/console/console.js") for u in load.urls)
    assert 0 < load.transferred <= 200_000


async def test_the_hosted_form_creates_a_case_from_a_real_browser(
    page: Page, gateway: TestClient, tmp_path: Path
) -> None:
    await page.goto(url(gateway, "/forms/contact"))
    # The honeypot: out of sight, out of the tab order and of the accessibility tree.
    trap = await page.locator("input[name=website]").bounding_box()
    assert trap is not None and trap["x"] + trap["width"] < 0
    await expect(page.get_by_role("textbox", name="Leave this field empty")).to_have_count(0)
    await page.get_by_label("Your name").fill("Vera <Customer>")
    await page.get_by_label("Phone").fill("+7 916 555-66-77")
    await page.get_by_label("Message *").fill("The parcel came damaged.")
    upload = tmp_path / "photo.txt"
    upload.write_bytes(b"pretend this is a photo")
    await page.get_by_label("Attachment").set_input_files(upload)
    await page.screenshot(path=tmp_path / "form.png")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Send").click()
    assert page.url.endswith("/thanks")  # the form's redirect in the sample config

    found = await (await gateway.get("/api/contacts?phone=89165556677", headers=ANNA)).json()
    assert found["contact"]["name"] == "Vera <Customer>"
    [case] = found["open_cases"]
    stored = await (await gateway.get(f"/api/cases/{case['id']}", headers=ANNA)).json()
    [message] = [e for e in stored["timeline"] if e["kind"] == "message"]
    assert message["text"] == "The parcel came damaged."
    assert [(a["name"], a["size"]) for a in message["attachments"]] == [("photo.txt", 23)]
    assert "website" not in message["fields"]

    # The operator finds it by the number as the customer wrote it and downloads the file.
    await sign_in(page, gateway)
    await page.get_by_test_id("contact-search").fill("+7 916 555-66-77")
    await page.get_by_test_id("contact-search").press("Enter")
    await page.locator("#search-results").get_by_role("button", name=f"#{case['id']} ").click()
    await expect(page.get_by_test_id("timeline")).to_contain_text("The parcel came damaged.")
    async with page.expect_download() as download:
        await page.get_by_role("button", name="photo.txt").click()
    saved = tmp_path / "downloaded"
    await (await download.value).save_as(saved)
    assert saved.read_bytes() == b"pretend this is a photo"


async def test_cases_i_created_lists_only_mine_and_as_text(page: Page, gateway: TestClient) -> None:
    fired = dialogs(page)
    subject = "Refund <img src=x onerror=alert(1)>"
    mine = {"contact": {"phone": "+79160000101"}, "subject": subject, "text": "by anna"}
    anna = await (await gateway.post("/api/cases", json=mine, headers=ANNA)).json()
    theirs = {"contact": {"phone": "+79160000102"}, "text": "by boris"}
    boris = await (await gateway.post("/api/cases", json=theirs, headers=BORIS)).json()
    await sign_in(page, gateway)
    await page.get_by_test_id("folder-created").locator("summary").click()
    listed = page.get_by_test_id("created-list")
    created = listed.locator(f"[data-testid=created-item][data-case-id='{anna['id']}']")
    await expect(created).to_contain_text(subject)
    await expect(listed.locator(f"[data-case-id='{boris['id']}']")).to_have_count(0)
    assert await listed.locator("img").count() == 0
    assert fired == []


async def test_an_edit_by_someone_else_shows_a_notice(page: Page, gateway: TestClient) -> None:
    await sign_in(page, gateway)
    await go_available(page)
    sms = {"id": "e1", "from": "+79163334477", "to": "+74950000000", "text": "status?"}
    case_id = (await (await gateway.post("/hooks/sms", **signed_sms(sms))).json())["case_id"]
    await page.locator(item(page, case_id)).locator("button.open").click()
    await expect(page.get_by_test_id("case-notice")).to_be_hidden()
    patch = {"subject": "Order 4711 <b>late</b>"}
    resp = await gateway.patch(f"/api/cases/{case_id}", json=patch, headers=ADMIN)
    assert resp.status == 200, await resp.text()
    await expect(page.get_by_test_id("case-notice")).to_contain_text("Changed by admin: subject")
    await expect(page.locator("#case-title")).to_have_text(f"#{case_id} Order 4711 <b>late</b>")
