"""Rate limits: counted in Redis in one Lua step, so the boundary is exact across processes;
over it, 429 `rate_limited` with Retry-After before the request is verified or stored."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis

from channels.errors import ConfigError
from channels.signature import sign
from gateway.config import Config
from gateway.limits.address import client_address
from gateway.limits.settings import networks
from routing.keys import Keys
from tests.chat_client import ORIGIN, frame, visit
from tests.conftest import SAMPLE, GatewayFactory, signed_sms
from tests.helpers import Serve, get_json, wait_for

DEFAULT_LIMITS = {
    "webhooks_per_minute = 1200": "webhooks_per_minute = {webhooks}",
    "forms_per_minute = 30": "forms_per_minute = {forms}",
    "chat_hellos_per_minute = 30": "chat_hellos_per_minute = {hellos}",
    "api_per_minute = 1200": "api_per_minute = {api}",
    'exempt = ["127.0.0.0/8", "::1/128"]': "exempt = []",  # the tests come from loopback
    "trusted_proxies = []": "trusted_proxies = {proxies}",
}


def limits_text(
    webhooks: int = 0, forms: int = 0, hellos: int = 0, api: int = 0, proxies: str = "[]"
) -> str:
    text = SAMPLE.read_text()
    values = {"webhooks": webhooks, "forms": forms, "hellos": hellos, "api": api}
    for old, new in DEFAULT_LIMITS.items():
        assert old in text, old
        text = text.replace(old, new.format(proxies=proxies, **values))
    return text


def _post_sms(base_url: str, index: int, signed: bool = True) -> tuple[int, dict[str, str], Any]:
    payload = {"id": f"rl-{index}", "from": f"+7916000{index:04d}", "to": "+74950000000",
               "text": "hello"}  # fmt: skip
    body = json.dumps(payload).encode()
    signature = sign("sample-sms-secret", body) if signed else "t=1,v1=00"
    headers = {"Content-Type": "application/json", "X-Intake-Signature": signature,
               "Connection": "close"}  # fmt: skip
    request = urllib.request.Request(base_url + "/hooks/sms", body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def _pid(base_url: str) -> int:
    status, body = get_json(base_url + "/healthz")
    assert status == 200
    return int(body["pid"])


def test_the_boundary_is_exact_under_three_acceptor_processes(
    tmp_path: Path, serve: Callable[..., Serve]
) -> None:
    limit, extra = 12, 6
    path = tmp_path / "limits.toml"
    path.write_text(limits_text(webhooks=limit))
    gateway = serve("--processes", "3", "--workers", "0", config=path)
    gateway.wait_ready()
    # One connection per request: the kernel spreads them over the three acceptors (once
    # all three listen).
    pids: set[int] = set()
    wait_for(lambda: pids.add(_pid(gateway.base_url)) or len(pids) == 3, 20, "3 acceptors")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: _post_sms(gateway.base_url, i), range(limit + extra)))
    statuses = Counter(status for status, _, _ in answers)
    assert statuses == {200: limit, 429: extra}, statuses
    for status, headers, body in answers:
        if status == 429:
            assert body["error"]["code"] == "rate_limited" and body["error"]["message"]
            assert 1 <= int(headers["Retry-After"]) <= 60
    # Over the limit, a request is refused before its signature is even looked at.
    assert _post_sms(gateway.base_url, 999, signed=False)[0] == 429
    stored = redis.Redis.from_url(gateway.embedded_url())
    assert int(stored.get(Keys().case_seq) or 0) == limit  # the refused ones stored nothing
    stored.close()
    assert gateway.stop() == 0


async def test_the_boundary_is_exact_across_three_apps_taking_turns(
    make_gateway: GatewayFactory, write_config: Callable[[str], Config]
) -> None:
    """The same without the kernel's choice: three apps (each its own Redis client) share one
    Valkey, the requests go to them in turn, all at once."""
    limit, extra = 9, 5
    config = write_config(limits_text(webhooks=limit))
    apps = [await make_gateway(config) for _ in range(3)]

    async def post(index: int) -> Any:
        sms = {"id": f"turn-{index}", "from": "+79160000002", "to": "+74950000000", "text": "x"}
        return await apps[index % 3].post("/hooks/sms", **signed_sms(sms))

    first = [await post(index) for index in range(3)]  # one through each app
    rest = await asyncio.gather(*(post(index) for index in range(3, limit + extra)))
    answers = [*first, *rest]
    assert [answer.status for answer in first] == [200, 200, 200]
    assert Counter(answer.status for answer in answers) == {200: limit, 429: extra}
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers if a.status == 429)


async def test_forms_count_per_client_and_x_forwarded_for_only_from_trusted_proxies(
    make_gateway: GatewayFactory, write_config: Callable[[str], Config]
) -> None:
    trusting = await make_gateway(write_config(limits_text(forms=2, proxies='["127.0.0.1"]')))
    form = {"name": "Ivan", "phone": "89161234567", "message": "Hi"}

    async def post(client: Any, who: str) -> Any:
        headers = {"X-Forwarded-For": f"198.51.100.7, {who}", "Accept": "application/json"}
        return await client.post("/forms/contact", json=form, headers=headers)

    for who in ("203.0.113.1", "203.0.113.1", "203.0.113.2"):
        assert (await post(trusting, who)).status == 201
    refused = await post(trusting, "203.0.113.1")
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    assert (await refused.json())["error"]["code"] == "rate_limited"
    # Without trusted proxies the header is the client's own claim: everyone is 127.0.0.1.
    plain = await make_gateway(write_config(limits_text(forms=2)))
    statuses = [(await post(plain, f"203.0.113.{9 + i}")).status for i in range(3)]
    assert statuses == [201, 201, 429]


async def test_the_api_is_limited_per_operator(
    make_gateway: GatewayFactory, write_config: Callable[[str], Config]
) -> None:
    gateway = await make_gateway(write_config(limits_text(api=3)))
    anna = {"Authorization": "Bearer sample-token-anna"}
    boris = {"Authorization": "Bearer sample-token-boris"}
    statuses = [(await gateway.get("/api/operators/anna", headers=anna)).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert (await gateway.get("/api/operators/boris", headers=boris)).status == 200
    bad = {"Authorization": "Bearer nobody"}
    assert (await gateway.get("/api/operators/anna", headers=bad)).status == 401


async def test_webhooks_off_with_zero_and_loopback_exempt_by_default(
    make_gateway: GatewayFactory, config: Config
) -> None:
    gateway = await make_gateway(config)  # the sample: loopback is exempt
    for index in range(3):
        sms = {"id": f"ex-{index}", "from": "+79160000001", "to": "+74950000000", "text": "x"}
        answer = await gateway.post("/hooks/sms", **signed_sms(sms))
        assert answer.status == 200
    assert config.limits.webhooks_per_minute == 1200


async def test_chat_hellos_over_the_limit_get_an_error_frame(
    make_gateway: GatewayFactory, write_config: Callable[[str], Config], sync_redis: redis.Redis,
    keys: Keys,
) -> None:  # fmt: skip
    gateway = await make_gateway(write_config(limits_text(hellos=2)))
    first, _, _ = await visit(gateway)
    second, _, _ = await visit(gateway)
    third = await gateway.ws_connect("/chat/ws", headers=ORIGIN)
    await third.send_json({"type": "hello"})
    refused = await frame(third)
    assert (refused["type"], refused["code"]) == ("error", "rate_limited")
    assert "retry in" in refused["message"]
    assert 0 < sync_redis.pttl(keys.rate("chat", "127.0.0.1")) <= 60_000
    for socket in (first, second, third):
        await socket.close()


def test_client_address_believes_only_trusted_hops() -> None:
    proxies = networks("10.0.0.0/8")
    assert client_address("10.0.0.5", "1.2.3.4, 10.0.0.9", proxies) == "1.2.3.4"
    assert client_address("10.0.0.5", "6.6.6.6, 1.2.3.4", proxies) == "1.2.3.4"
    assert client_address("8.8.8.8", "1.2.3.4", proxies) == "8.8.8.8"
    assert client_address("10.0.0.5", "", proxies) == "10.0.0.5"
    assert client_address("10.0.0.5", "1.2.3.4", ()) == "10.0.0.5"


def test_bad_limits_are_named_by_their_dotted_key(write_config: Callable[[str], Config]) -> None:
    text = limits_text(api=-1, proxies='["10.0.0.0/8", "not-an-address"]')
    with pytest.raises(ConfigError) as raised:
        write_config(text.replace("forms_per_minute = 0", 'forms_per_minute = "many"'))
    problems = "\n".join(raised.value.problems)
    assert "limits.api_per_minute: must be at least 0, got -1" in problems
    assert "limits.forms_per_minute: expected an integer, got" in problems
    assert "limits.trusted_proxies[1]: expected an address or network" in problems
