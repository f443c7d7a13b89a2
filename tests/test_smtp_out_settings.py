"""[channels.email.smtp_out]: the relay's security, credentials from the environment, checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.errors import ConfigError
from gateway.config import load_config, redacted
from tests.conftest import SAMPLE

SMTP_OUT = "[channels.email.smtp_out]             # outgoing mail (replies, acknowledgements)\n"


def with_smtp_out(tmp_path: Path, lines: str) -> str:
    text = SAMPLE.read_text()
    start = text.index(SMTP_OUT)
    end = text.index("\n\n", start)
    path = tmp_path / "config.toml"
    path.write_text(text[:start] + SMTP_OUT + lines + text[end:])
    return str(path)


def test_a_relay_with_tls_and_a_password_from_the_environment(tmp_path: Path) -> None:
    path = with_smtp_out(
        tmp_path,
        'host = "smtp.example.net"\nfrom = "support@example.com"\nname = "Support"\n'
        'security = "tls"\nuser = "support"\npassword_env = "SMTP_PASSWORD"\n',
    )
    config = load_config(path, env={"SMTP_PASSWORD": "s3cret-relay"})
    assert config.channels.email is not None
    out = config.channels.email.smtp_out
    assert out is not None
    assert (out.host, out.port, out.security, out.user, out.name) == (
        "smtp.example.net", 465, "tls", "support", "Support",
    )  # fmt: skip
    assert out.password is not None and out.password.reveal() == "s3cret-relay"
    assert "s3cret-relay" not in repr(config) and "s3cret-relay" not in str(redacted(config))


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ('security = "ssl"\n', "channels.email.smtp_out.security: expected one of"),
        ('user = "support"\n', "channels.email.smtp_out.password: missing"),
        ('from = "nobody"\n', "channels.email.smtp_out.from: 'nobody' is not an e-mail address"),
    ],
)
def test_bad_relay_settings_are_named_by_key(tmp_path: Path, lines: str, problem: str) -> None:
    base = 'host = "127.0.0.1"\n' + ("" if "from" in lines else 'from = "a@example.com"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(with_smtp_out(tmp_path, base + lines), env={})
    assert any(problem in line for line in caught.value.problems), caught.value.problems
