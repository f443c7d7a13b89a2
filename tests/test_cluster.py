"""The routing functions on a real Redis Cluster of 3 primaries, one deployment prefix: every
key of the deployment lands in one slot, so intake, assignment, drain and offers run with no
CROSSSLOT error through `redis.asyncio.cluster.RedisCluster`."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import redis
from redis.asyncio.cluster import RedisCluster
from redis.cluster import key_slot

from channels.blobs import FsBlobStore
from channels.message import InboundMessage
from gateway.config import Config
from gateway.intake import Intake
from routing import sync
from routing.errors import RoutingRefused
from routing.keys import Keys
from routing.scripts import Scripts
from tests.routing_invariants import assert_invariants
from tests.test_routing import config_text
from tests.valkey_servers import ValkeyCluster

OFFER_MS = 30_000


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyCluster]:
    started = ValkeyCluster(tmp_path_factory.mktemp("cluster"))
    started.start()
    yield started
    started.stop()


@pytest.fixture
async def client(cluster: ValkeyCluster) -> AsyncIterator[RedisCluster]:
    found = RedisCluster(host="127.0.0.1", port=cluster.ports[0])
    await found.initialize()
    yield found
    await found.aclose()


@pytest.fixture
def deployment() -> Keys:
    return Keys(f"{{d{uuid.uuid4().hex[:8]}}}:")


def now() -> int:
    return int(time.time() * 1000)


def sms(n: int) -> InboundMessage:
    return InboundMessage(
        channel="sms", dedupe_scope="cluster", delivery_id=f"d{n}", sender_phone=f"+7916000{n:04d}"
    )


async def test_library_is_loaded_on_every_primary(
    cluster: ValkeyCluster, client: RedisCluster, deployment: Keys
) -> None:
    scripts = Scripts(client, deployment)
    await scripts.load()
    for port in cluster.ports:
        node = cluster.node(port)
        assert node.function_list(library=scripts.library.name), port
        node.close()


async def test_routing_runs_in_one_slot(
    cluster: ValkeyCluster,
    client: RedisCluster,
    deployment: Keys,
    write_config: Callable[[str], Config],
) -> None:
    ops = {"a": "total = 1", "b": "total = 1"}
    config = write_config(config_text(ops, {"support": (["a", "b"], False)}, offers='sms = "30s"'))
    scripts = Scripts(client, deployment)
    intake = Intake(scripts, FsBlobStore(config.blobs_dir))
    await sync.apply(scripts, config.routing, config.version)
    for op in ops:
        await scripts.presence(now(), op, "available")
    first, second, third = [await intake.submit(config, sms(n)) for n in (1, 2, 3)]
    assert {first.assignee, second.assignee} == {"a", "b"} and third.status == "queued"
    assert (await intake.submit(config, sms(1))).case_id == first.case_id  # dedupe

    offer = (await client.hget(deployment.case(first.case_id), "of")).decode()
    accepted = await scripts.accept(now(), first.case_id, str(first.assignee), offer)
    assert accepted == {"status": "in_progress"}
    declined = await scripts.decline(now(), second.case_id, str(second.assignee))
    assert declined == {"status": "queued"}  # the other operator is full: back in the queue
    assert await case_field(client, deployment, third.case_id, "as") == second.assignee  # drain

    assert await scripts.expire(now() + OFFER_MS + 1, third.case_id) == {"expired": True}
    assert await case_field(client, deployment, third.case_id, "st") == "queued"
    await scripts.resolve(now(), first.case_id, str(first.assignee))
    assert await case_field(client, deployment, second.case_id, "as") == first.assignee

    explained = await scripts.explain(now(), "support", "sms", "", 0)  # FCALL_RO
    assert {row["operator"] for row in explained["candidates"]} == {"a", "b"}
    assert_one_slot(cluster, deployment)


async def test_a_primary_that_lost_the_library_gets_it_again(
    cluster: ValkeyCluster, client: RedisCluster, deployment: Keys
) -> None:
    scripts = Scripts(client, deployment)
    await scripts.load()
    node = cluster.node(cluster.port_of(key_slot(deployment.prefix.encode())))
    node.function_flush()
    with pytest.raises(RoutingRefused, match="operator_not_found"):  # not "Function not found"
        await scripts.presence(now(), "nobody", "available")
    assert node.function_list(library=scripts.library.name)
    node.close()
    assert_one_slot(cluster, deployment)


async def case_field(client: RedisCluster, keys: Keys, case_id: int, field: str) -> str | None:
    value = await client.hget(keys.case(case_id), field)
    return value.decode() if value is not None else None


def assert_one_slot(cluster: ValkeyCluster, keys: Keys) -> None:
    """Every key of the deployment is on the node of its hash tag's slot; that node's data
    keeps the routing invariants."""
    slot = key_slot(keys.prefix.encode())
    home = cluster.port_of(slot)
    for port in cluster.ports:
        node = cluster.node(port)
        names = list(node.scan_iter(match=f"{keys.prefix}*", count=1000))
        if port == home:
            assert_invariants(node, keys.prefix)
            assert all(key_slot(name) == slot for name in names)
        else:
            assert names == [], port
        node.close()


@pytest.fixture(autouse=True)
def _clean(cluster: ValkeyCluster, deployment: Keys) -> Iterator[None]:
    yield
    node: redis.Redis = cluster.node(cluster.port_of(key_slot(deployment.prefix.encode())))
    for name in node.scan_iter(match=f"{deployment.prefix}*", count=1000):
        node.delete(name)
    node.close()


def test_keys_need_a_hash_tag() -> None:
    with pytest.raises(ValueError, match="hash tag"):
        Keys("ig:")
