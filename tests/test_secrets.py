"""No secret shows: not in repr(config), not in a log line at any level, not in
/api/admin/config. The secrets checked are every `Secret` the loaded config holds, plus the
password in a Redis URL, so a new channel's secret is covered without naming it here."""

from __future__ import annotations

import dataclasses
import logging
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from channels.settings import Secret
from gateway.config import Config, load_config
from tests.conftest import ADMIN, SAMPLE, GatewayFactory, signed_sms
from tests.helpers import Serve

REDIS_PASSWORD = "hunter2-redis-password"
IMAP = """
[[channels.email.imap]]
host = "imap.example.com"
user = "support@example.com"
password_env = "IMAP_PASSWORD"
"""
ENV = {"IMAP_PASSWORD": "imap-password-from-env", "MANGO_SALT": "mango-salt-from-env"}


def every_secret(value: object) -> list[str]:
    if isinstance(value, Secret):
        return [value.reveal()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return [s for f in fields if f.name != "raw" for s in every_secret(getattr(value, f.name))]
    if isinstance(value, dict):
        return [s for item in value.values() for s in every_secret(item)]
    if isinstance(value, tuple | list):
        return [s for item in value for s in every_secret(item)]
    return []


@pytest.fixture
def secret_config(tmp_path: Path) -> Config:
    """The sample with every kind of secret: inline, from the environment, in a Redis URL."""
    text = SAMPLE.read_text().replace('url = ""', f'url = "redis://:{REDIS_PASSWORD}@127.0.0.1:1"')
    text = text.replace('api_salt = "sample-mango-salt"', 'api_salt_env = "MANGO_SALT"')
    path = tmp_path / "config.toml"
    path.write_text(text + IMAP)
    return load_config(str(path), env=ENV)


def secrets_of(config: Config) -> list[str]:
    found = [*every_secret(config), REDIS_PASSWORD]
    # The walk must reach every section, or the assertions below would pass vacuously.
    for expected in ("change-me-admin", "sample-token-chen", "sample-twilio-token", *ENV.values()):
        assert expected in found
    assert len(found) == 11 and all(found)
    return found


def test_secret_repr_and_str_hide_the_value() -> None:
    secret = Secret("s3cret")
    assert "s3cret" not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == "s3cret" and secret and not Secret("")


def test_repr_of_the_config_shows_no_secret(secret_config: Config) -> None:
    shown = repr(secret_config) + str(secret_config)
    assert "anna" in shown and "Secret(" in shown
    for secret in secrets_of(secret_config):
        assert secret not in shown


async def test_logs_and_admin_config_show_no_secret(
    make_gateway: GatewayFactory, secret_config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = await make_gateway(secret_config)
    sms = {"id": "s1", "from": "+79165550001", "to": "+74950000010", "text": "hi"}
    assert (await gateway.post("/hooks/sms", **signed_sms(sms))).status == 200
    assert (await gateway.post("/hooks/sms", **signed_sms(sms, "wrong"))).status == 401
    view = await gateway.get("/api/admin/config", headers=ADMIN)
    assert view.status == 200
    shown = await view.text()
    wrong_token = await gateway.get("/api/admin/config", headers={"Authorization": "Bearer x"})
    assert wrong_token.status == 401
    assert any(record.levelno == logging.DEBUG for record in caplog.records)
    for secret in secrets_of(secret_config):
        assert secret not in shown
        assert secret not in caplog.text


def test_the_served_product_logs_no_secret(serve: Callable[..., Serve]) -> None:
    """The supervisor, an acceptor, a worker and the embedded Valkey, on the sample config."""
    process = serve("--workers", "1")
    process.wait_ready()
    sms = {"id": "s2", "from": "+79165550002", "to": "+74950000010", "text": "hi"}
    request = urllib.request.Request(process.base_url + "/hooks/sms", **signed_sms(sms))
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    assert process.stop() == 0
    log = process.log()
    assert "acceptor listening" in log
    secrets = every_secret(load_config(str(SAMPLE), env={}))
    assert len(secrets) == 9
    for secret in secrets:
        assert secret not in log
