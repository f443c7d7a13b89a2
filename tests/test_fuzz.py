"""Property-based fuzzing of every route that takes input (bench/fuzzcases.py builds the requests).

Each test runs a seeded, bounded hypothesis search against the real application on a loopback
port (with the acceptor's JSON parser-error handler) and asserts, for every request: no 5xx, the
SPEC's error body on every 4xx, and not one key of the test changed by a refused request.
Afterwards every stored case must still read back. `bench/fuzz.py --minutes N` runs the same
generators for longer.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest
import redis
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import fuzzcases, fuzzphone
from routing.keys import Keys
from tests.test_bad_input import snapshot

EXAMPLES = 150  # a few seconds per route on a shared 2-core machine

Run = Callable[[st.SearchStrategy[fuzzcases.Request]], Counter[int]]


@pytest.fixture
def fuzz(edge: TestClient, sync_redis: redis.Redis, keys: Keys) -> Run:
    host, port = str(edge.server.host), int(edge.server.port or 0)

    def run(requests: st.SearchStrategy[fuzzcases.Request]) -> Counter[int]:
        statuses: Counter[int] = Counter()

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(requests)
        def one(request: fuzzcases.Request) -> None:
            before = snapshot(sync_redis, keys)
            answer = fuzzcases.send(host, port, request)
            statuses[answer.status] += 1
            problem = fuzzcases.check(answer)
            assert problem is None, f"{problem}\nfor {request.wire()[:600]!r}"
            if answer.status >= 400:
                assert snapshot(sync_redis, keys) == before, request.wire()[:600]

        one()
        print(f"fuzz: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
        return statuses

    return run


async def every_case_reads_back(edge: TestClient, sync_redis: redis.Redis, keys: Keys) -> None:
    """No accepted request left a case (or contact) that its own reads cannot show."""
    last = int(sync_redis.get(keys.case_seq) or 0)
    admin = {"Authorization": fuzzcases.ADMIN}
    for case_id in range(1, last + 1):
        response = await edge.get(f"/api/cases/{case_id}", headers=admin)
        assert response.status == 200, await response.text()
    page = await edge.get("/api/cases?limit=200", headers=admin)
    assert page.status == 200, await page.text()


async def fuzz_route(
    fuzz: Run, requests: st.SearchStrategy[fuzzcases.Request], *answers: int
) -> Counter[int]:
    statuses = await asyncio.to_thread(fuzz, requests)
    assert sum(statuses.values()) >= EXAMPLES // 2
    for status in answers:  # the generators reach past the first checks, not just 4xx
        assert statuses[status], statuses
    return statuses


async def test_fuzz_sms_hook(
    fuzz: Run, edge: TestClient, sync_redis: redis.Redis, keys: Keys
) -> None:
    await fuzz_route(fuzz, fuzzcases.sms_requests(), 200, 401, 422)
    await every_case_reads_back(edge, sync_redis, keys)


async def test_fuzz_forms(fuzz: Run, edge: TestClient, sync_redis: redis.Redis, keys: Keys) -> None:
    await fuzz_route(fuzz, fuzzcases.form_requests(), 400, 404, 415)
    await every_case_reads_back(edge, sync_redis, keys)


async def test_fuzz_operator_and_admin_api(
    fuzz: Run, edge: TestClient, sync_redis: redis.Redis, keys: Keys
) -> None:
    await fuzz_route(fuzz, fuzzcases.api_requests(), 200, 404, 422)
    await every_case_reads_back(edge, sync_redis, keys)


async def test_fuzz_the_http_parser(fuzz: Run) -> None:
    await fuzz_route(fuzz, fuzzcases.raw_requests(), 400)


async def test_fuzz_phone_hook(
    fuzz: Run, edge: TestClient, sync_redis: redis.Redis, keys: Keys
) -> None:
    await fuzz_route(fuzz, fuzzphone.phone_requests(), 200, 401, 422)
    await every_case_reads_back(edge, sync_redis, keys)


async def test_fuzz_twilio_and_mango_hooks(
    fuzz: Run, edge: TestClient, sync_redis: redis.Redis, keys: Keys
) -> None:
    await fuzz_route(fuzz, fuzzcases.provider_requests(), 401)
    await every_case_reads_back(edge, sync_redis, keys)
