"""`serve --processes 2`: both acceptors share the port, and the routing guarantees hold when
4 client processes drive arrivals and operator actions through both at once."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import redis

from routing.keys import Keys
from tests.helpers import Serve, get_json
from tests.http_load import call, run_http_worker
from tests.routing_invariants import assert_invariants, capacity_breaches
from tests.test_routing_concurrency import CONFIG, _config_text

DEFAULT = Keys()  # what `serve` uses

CLIENTS = 4
ARRIVALS = 120  # per client process
SMS = '\n[channels.sms]\nsecret = "sample-sms-secret"\n'


def test_two_acceptors_never_overload_or_double_assign(
    tmp_path: Path, serve: Callable[..., Serve]
) -> None:
    assert "[channels.sms]" not in CONFIG
    path = tmp_path / "config.toml"
    path.write_text(_config_text() + SMS)
    gateway = serve("--processes", "2", "--workers", "0", config=path)
    gateway.wait_ready()
    tokens = {f"o{n}": f"token-o{n}" for n in range(1, 7)}
    for op, token in tokens.items():
        assert call(gateway.base_url, "PUT", f"/api/operators/{op}/presence", token,
                    {"presence": "available"})[0] == 200  # fmt: skip
    client = redis.Redis.from_url(gateway.embedded_url())
    breaches: list[str] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            breaches.extend(capacity_breaches(client, DEFAULT.prefix, sorted(tokens)))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ProcessPoolExecutor(CLIENTS, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [
                pool.submit(run_http_worker, gateway.base_url, seed, ARRIVALS, tokens)
                for seed in range(CLIENTS)
            ]
            results = [f.result(timeout=120) for f in futures]
    finally:
        stop.set()
        sampler.join()

    statuses: Counter[int] = Counter()
    for result in results:
        statuses.update({int(k): v for k, v in result["statuses"].items()})
    assert not [s for s in statuses if s >= 500], statuses
    assert statuses[200] >= CLIENTS * ARRIVALS, statuses
    assert len({pid for r in results for pid in r["pids"]}) == 2, results
    assert not breaches, breaches[:10]
    assert_invariants(client, DEFAULT.prefix)
    assert int(client.get(DEFAULT.case_seq) or 0) > 0
    assert get_json(gateway.base_url + "/readyz")[0] == 200
    assert gateway.stop() == 0
    client.close()
