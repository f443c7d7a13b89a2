"""`/metrics` read with prometheus_client's own parser: the per-process histograms and counters
move by exactly the load sent, labelled by route template, channel, function and reply code."""

from __future__ import annotations

import json
import re
import smtplib
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from gateway.config import Config
from routing.keys import Keys
from tests.conftest import ADMIN, ROOT, signed_sms
from tests.metrics_text import sample, total
from tests.smtp_helpers import mail, send, smtp_app

N = 12


async def scrape(client: TestClient) -> str:
    resp = await client.get("/metrics", headers=ADMIN)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    return await resp.text()


async def post_sms(client: TestClient, n: int, prefix: str = "m") -> None:
    sms = {"id": f"{prefix}{n}", "from": f"+7916123{n:04d}", "to": "+74950000000", "text": "hi"}
    resp = await client.post("/hooks/sms", **signed_sms(sms))
    assert resp.status == 200, await resp.text()


async def test_every_family_parses_and_has_its_kind(gateway: TestClient) -> None:
    await post_sms(gateway, 0)
    kinds = {f.name: f.type for f in text_string_to_metric_families(await scrape(gateway))}
    assert kinds["intake_http_requests"] == "counter"
    assert kinds["intake_http_request_duration_seconds"] == "histogram"
    assert kinds["intake_intake_duration_seconds"] == "histogram"
    assert kinds["intake_lua_step_duration_seconds"] == "histogram"
    assert kinds["intake_smtp_replies"] == "counter"
    assert kinds["intake_outbox_lag_seconds"] == "histogram"
    assert kinds["intake_rq_jobs"] == "counter"
    assert kinds["intake_cases"] == "gauge"  # the Redis-derived ones stay beside them
    assert kinds["intake_reaction_seconds"] == "histogram"


async def test_histograms_and_counters_grow_by_the_requests_sent(gateway: TestClient) -> None:
    before = await scrape(gateway)
    for n in range(N):
        await post_sms(gateway, n, "load")
    after = await scrape(gateway)

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    route = {"route": "/hooks/sms"}
    assert grew("intake_http_requests_total", **route, method="POST", status="2xx") == N
    assert grew("intake_http_request_duration_seconds_count", **route) == N
    assert grew("intake_http_request_duration_seconds_bucket", **route, le="+Inf") == N
    assert grew("intake_http_request_duration_seconds_sum", **route) > 0
    assert grew("intake_intake_duration_seconds_count", channel="sms") == N
    assert grew("intake_lua_step_duration_seconds_count", function="intake") == N
    # the scrape before is counted in the scrape after, under its own route
    assert grew("intake_http_requests_total", route="/metrics", status="2xx") == 1


async def test_routes_are_labelled_by_template_and_errors_by_status_class(
    gateway: TestClient,
) -> None:
    before = await scrape(gateway)
    for case_id in (101, 202, 303):
        assert (await gateway.get(f"/api/cases/{case_id}", headers=ADMIN)).status == 404
    assert (await gateway.get("/api/cases/1")).status == 401
    assert (await gateway.get("/no/such/path/4711")).status == 404
    after = await scrape(gateway)
    labels = {
        value
        for family in text_string_to_metric_families(after)
        for each in family.samples
        for value in each.labels.values()
    }  # label values only: a sample's value (a start time) may hold any digits
    assert "/api/cases/{case_id}" in labels
    assert not [value for value in labels if "/api/cases/1" in value or "4711" in value]

    def grew(**labels: str) -> float:
        name = "intake_http_requests_total"
        return total(after, name, **labels) - total(before, name, **labels)

    assert grew(route="/api/cases/{case_id}", method="GET", status="4xx") == 4
    assert grew(route="unmatched", status="4xx") == 1


async def test_smtp_replies_are_counted_by_code(
    aiohttp_client: Any, config: Config, redis_url: str, keys: Keys
) -> None:
    app, port = smtp_app(config, redis_url, keys)
    client: TestClient = await aiohttp_client(app)
    before = await scrape(client)
    await send(port, mail(message_id="<metrics-1@client.example.org>"))
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await send(port, mail(), to=("someone@elsewhere.example.net",))
    after = await scrape(client)

    def grew(code: str) -> float:
        name = "intake_smtp_replies_total"
        return sample(after, name, code=code) - total(before, name, code=code)

    assert grew("550") == 1  # the refused recipient
    assert grew("221") == 2  # two QUITs
    assert grew("220") == 2  # two greetings
    assert grew("250") >= 4  # EHLO, MAIL, RCPT, the stored message
    assert grew("354") == 1  # one DATA


async def test_a_method_nobody_uses_is_counted_as_other(gateway: TestClient) -> None:
    before = await scrape(gateway)
    for method in ("PROPFIND", "TRACE", "LINK"):
        assert (await gateway.request(method, "/healthz")).status == 405
    after = await scrape(gateway)
    assert "PROPFIND" not in after and "TRACE" not in after
    name = "intake_http_requests_total"
    assert total(after, name, method="other") - total(before, name, method="other") == 3


async def test_the_sample_dashboard_queries_only_metrics_that_exist(gateway: TestClient) -> None:
    dashboard = json.loads((ROOT / "contrib" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {re.sub(r"_(bucket|count|sum|total)$", "", name)
            for expr in exprs for name in re.findall(r"\bintake_[a-z_]+", expr)}  # fmt: skip
    families = {f.name for f in text_string_to_metric_families(await scrape(gateway))}
    assert len(used) >= 14
    assert used <= families, used - families
