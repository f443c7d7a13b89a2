"""The Lua function library: versions side by side, reload after a flush, errors that name the
.lua file, and a clear refusal from a server without functions (Redis < 7)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from redis.exceptions import ReadOnlyError, ResponseError

from routing.keys import Keys
from routing.library import build
from routing.scripts import FunctionsUnsupported, RoutingRefused, Scripts
from tests.conftest import SAMPLE
from tests.valkey_servers import free_port, start_valkey, wait_until

ONE_OPERATOR = {
    "operators": {"a": {"total": 2, "caps": {"sms": 2}}},
    "services": {"support": {"members": ["a"], "sticky": False}},
    "offer_timeouts": {},
}


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    found = aioredis.Redis.from_url(redis_url)
    yield found
    await found.aclose()


@pytest.fixture
def versions(sync_redis: redis.Redis) -> Iterator[list[str]]:
    """Two library versions of this test's own, deleted afterwards (functions are server-wide)."""
    tag = uuid.uuid4().hex[:8]
    names = [f"v1_{tag}", f"v2_{tag}"]
    yield names
    for name in names:
        with contextlib.suppress(ResponseError):  # unless the test deleted it itself
            sync_redis.function_delete(f"intake_{name}")


async def test_two_versions_loaded_side_by_side_do_not_clash(
    client: aioredis.Redis, keys: Keys, sync_redis: redis.Redis, versions: list[str]
) -> None:
    old, new = (Scripts(client, keys, build(version)) for version in versions)
    await old.load()
    await old.sync(1, ONE_OPERATOR, "1")
    await old.presence(1, "a", "available")
    await new.load()  # the rolling deploy's second version arrives; the first keeps working
    assert old.library.function("presence") != new.library.function("presence")
    assert (await old.explain(2, "support", "sms", "", 0))["decision"] == "a"
    assert (await new.explain(2, "support", "sms", "", 0))["decision"] == "a"
    await new.presence(3, "a", "away")
    assert (await old.explain(4, "support", "sms", "", 0))["decision"] is None
    listed = {entry[1].decode() for entry in sync_redis.function_list()}
    assert {old.library.name, new.library.name} <= listed
    sync_redis.function_delete(old.library.name)  # the last old process is gone
    assert (await new.presence(5, "a", "available")) == {"presence": "available"}


async def test_a_server_that_lost_the_library_gets_it_again(
    client: aioredis.Redis, keys: Keys, sync_redis: redis.Redis, versions: list[str]
) -> None:
    scripts = Scripts(client, keys, build(versions[0]))
    await scripts.load()
    sync_redis.function_delete(scripts.library.name)  # as after a restart without persistence
    await scripts.sync(1, ONE_OPERATOR, "1")
    assert sync_redis.function_list(library=scripts.library.name)
    with pytest.raises(RoutingRefused, match="operator_not_found"):
        await scripts.presence(2, "nobody", "available")


async def test_a_lua_error_names_the_file_and_line(client: aioredis.Redis, keys: Keys) -> None:
    scripts = Scripts(client, keys)
    with pytest.raises(ResponseError, match=r"routing/lua/intake\.lua:\d+") as caught:
        await scripts.intake(1, '{"did": ""}', "{}")  # no phone, email...: a nil argument
    assert "user_function" not in str(caught.value)


def test_the_default_version_follows_the_source() -> None:
    assert build().name == build().name
    assert build().name.startswith("intake_") and build("x1").name == "intake_x1"
    with pytest.raises(ValueError, match="letters"):
        build("a-b")


@pytest.fixture
def old_server(tmp_path: Path) -> Iterator[str]:
    """A real server without Lua functions, as Redis 6 is: FUNCTION and FCALL are unknown."""
    port = free_port()
    renamed = [flag for name in ("FUNCTION", "FCALL", "FCALL_RO") for flag in (
        "--rename-command", name, "")]  # fmt: skip
    proc = start_valkey(tmp_path, port, *renamed)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A primary and its read-only replica: (primary URL, replica URL), in sync."""
    first, second = free_port(), free_port()
    procs = [start_valkey(tmp_path, first)]
    procs.append(start_valkey(tmp_path, second, "--replicaof", "127.0.0.1", str(first)))
    node = redis.Redis(port=second)
    wait_until(lambda: node.info("replication")["master_link_status"] == "up")
    node.close()
    yield f"redis://127.0.0.1:{first}/0", f"redis://127.0.0.1:{second}/0"
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


async def test_reads_run_on_a_replica_and_writes_keep_their_error_type(
    replica: tuple[str, str], keys: Keys
) -> None:
    primary, secondary = (aioredis.Redis.from_url(url) for url in replica)
    await Scripts(primary, keys).sync(1, ONE_OPERATOR, "1")  # loads the library: replicated
    await primary.wait(1, 5000)
    on_replica = Scripts(secondary, keys)
    assert (await on_replica.explain(2, "support", "sms", "", 0))["decision"] is None  # FCALL_RO
    with pytest.raises(ReadOnlyError):  # what the app answers 503 for during a failover
        await on_replica.presence(3, "a", "available")
    for client in (primary, secondary):
        await client.aclose()


async def test_a_server_without_functions_is_named_at_start(old_server: str) -> None:
    client = aioredis.Redis.from_url(old_server)
    with pytest.raises(FunctionsUnsupported, match="Redis >= 7"):
        await Scripts(client, Keys()).load()
    with pytest.raises(FunctionsUnsupported, match="Redis >= 7"):
        await Scripts(client, Keys()).presence(1, "a", "away")
    await client.aclose()


def test_the_acceptor_reports_a_server_without_functions(old_server: str) -> None:
    http = f"127.0.0.1:{free_port()}"
    argv = ["--config", str(SAMPLE), "--redis-url", old_server, "--http", http]
    done = subprocess.run(
        [sys.executable, "-m", "gateway.process.acceptor", *argv], capture_output=True, timeout=60
    )
    assert done.returncode == 1
    assert b"no Lua functions" in done.stderr and b"Redis >= 7" in done.stderr
    assert b"Traceback" not in done.stderr
