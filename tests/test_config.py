"""config.toml loading: the sample, durations, secrets from the environment, and broken files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from channels.errors import ConfigError
from channels.message import CHANNELS
from channels.settings import parse_duration
from gateway.config import load_config, redacted
from gateway.http.errors import status_of

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "config.toml"

BASE = """\
[gateway]
http = "127.0.0.1:8080"
smtp = "127.0.0.1:2525"
default_region = "RU"
admin_token = "admin"

[types]
request = 2
default = "request"

[sla.2]
reaction = "1h"
resolution = "1d"

[[operators]]
id = "anna"
token = "token-anna"
phone = "8 (495) 000-00-01"
capacity = { total = 3 }

[[operators]]
id = "boris"
token = "token-boris"
capacity = { total = 2, phone = 1 }

[[services]]
id = "support"
operators = ["anna", "boris"]

[[rules]]
when = { channel = "sms", to = "8 495 000-00-10" }
service = "support"

[routing]
default_service = "support"

[channels.email]
domains = ["example.com"]

[[channels.webform.forms]]
id = "contact"
service = "support"
redirect = "/thanks"
"""


def write(tmp_path: Path, text: str, name: str = "broken.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def mutate(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def problems_of(path: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env or {})
    return caught.value.problems


def test_sample_loads_with_three_operators_and_two_services() -> None:
    config = load_config(str(SAMPLE), env={})
    assert list(config.routing.operators) == ["anna", "boris", "chen"]
    assert config.routing.services["support"].operators == ("anna", "boris")
    assert config.routing.services["support"].sticky_owner is True
    assert config.routing.services["billing"].operators == ("chen", "anna")
    assert config.routing.operators["anna"].phone == "+74950000001"
    assert config.routing.operators["anna"].capacity.per_channel["phone"] == 1
    assert config.http == ("127.0.0.1", 8080)
    assert config.smtp == ("127.0.0.1", 2525)
    assert config.routing.default_service == "support"
    email, webform, mango = config.channels.email, config.channels.webform, config.channels.mango
    assert email is not None and webform is not None and mango is not None
    assert email.smtp_out is not None
    assert email.smtp_out.port == 2526
    assert email.imap == ()
    assert webform.forms["contact"].service == "support"
    assert mango.api_salt.reveal() == "sample-mango-salt"
    assert config.routing.rules[0].to == "billing@example.com"
    assert config.routing.rules[0].service == "billing"
    assert set(config.routing.sla) >= set(config.routing.types.values())
    assert config.version == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()[:12]
    assert config.raw["gateway"]["default_region"] == "RU"


def test_defaults_and_normalization(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE, "config.toml"), env={})
    assert config.routing.operators["anna"].phone == "+74950000001"
    assert config.routing.operators["anna"].capacity.per_channel == dict.fromkeys(CHANNELS, 3)
    assert config.routing.operators["boris"].capacity.per_channel["phone"] == 1
    assert config.routing.operators["boris"].capacity.per_channel["chat"] == 2
    assert config.routing.rules[0].to == "+74950000010"
    assert (config.processes, config.workers) == (1, 1)
    assert (config.redis_url, config.redis_data_dir) == ("", "var/redis")
    assert config.redis_durability == "always"
    assert config.subject_tag == "[Case #{id}]"
    assert config.reopen_within == 7 * 86400
    assert config.public_url == "http://127.0.0.1:8080"
    assert config.channels.twilio is None  # no [channels.twilio]: the channel is off
    assert config.channels.email is not None
    assert config.channels.email.max_message_bytes == 10 * 1024 * 1024
    assert config.routing.offer_timeout == {}


def test_rule_addresses_and_form_fields_in_both_spellings(tmp_path: Path) -> None:
    text = mutate(
        'when = { channel = "sms", to = "8 495 000-00-10" }',
        'when = { to = "Sales@Example.COM", "field.topic" = "billing", field.kind = "b2b" }',
    )
    rule = load_config(write(tmp_path, text), env={}).routing.rules[0]
    assert rule.to == "sales@example.com"
    assert rule.fields == {"topic": "billing", "kind": "b2b"}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("4h", 14400), ("2d", 172800), ("45", 45), (30, 30), ("0s", 0)],
)
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "1.5h", "-5s", "5 m", "3w", "h", True, -1])
def test_parse_duration_rejects(text: str | int) -> None:
    with pytest.raises(ValueError, match="expected a duration like"):
        parse_duration(text)


def test_secrets_from_the_environment(tmp_path: Path) -> None:
    text = mutate('token = "token-anna"', 'token_env = "ANNA_TOKEN"')
    text += '[channels.mango]\napi_key = "key"\napi_salt_env = "MANGO_API_SALT"\n'
    env = {"ANNA_TOKEN": "from-env", "MANGO_API_SALT": "salt-from-env"}
    config = load_config(write(tmp_path, text), env=env)
    assert config.routing.operators["anna"].token.reveal() == "from-env"
    assert config.channels.mango is not None
    assert config.channels.mango.api_salt.reveal() == "salt-from-env"


def test_unset_env_variable_names_the_key(tmp_path: Path) -> None:
    text = mutate('token = "token-anna"', 'token_env = "NO_SUCH_TOKEN_VAR"')
    assert problems_of(write(tmp_path, text)) == [
        "broken.toml: operators[0].token_env: environment variable NO_SUCH_TOKEN_VAR is not set"
    ]


def test_redis_url_override_and_config_lookup(tmp_path: Path) -> None:
    path = write(tmp_path, BASE, "from-env.toml")
    env = {"INTAKE_CONFIG": path, "INTAKE_REDIS_URL": "redis://127.0.0.1:6390/0"}
    config = load_config(env=env)
    assert config.path == path
    assert config.redis_url == "redis://127.0.0.1:6390/0"


def test_default_path_is_config_toml_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, BASE, "config.toml")
    monkeypatch.chdir(tmp_path)
    assert load_config(env={}).path == str(tmp_path / "config.toml")


def test_processes_auto(tmp_path: Path) -> None:
    text = mutate('admin_token = "admin"', 'admin_token = "admin"\nprocesses = "auto"')
    assert load_config(write(tmp_path, text), env={}).processes >= 1


def test_version_follows_the_file_bytes(tmp_path: Path) -> None:
    first = load_config(write(tmp_path, BASE, "a.toml"), env={}).version
    second = load_config(write(tmp_path, BASE + "# a comment\n", "b.toml"), env={}).version
    assert len(first) == 12 and first != second


def test_redacted_hides_every_secret(tmp_path: Path) -> None:
    text = mutate(
        "[channels.email]",
        '[channels.twilio]\naccount_sid = "AC1"\nauth_token = "tw"\n\n[channels.email]',
    )
    text = text.replace('token = "token-boris"', 'token_env = "BORIS"')
    text += '[redis]\nurl = "redis://:hunter2@127.0.0.1:6379/0"\n'
    view = redacted(load_config(write(tmp_path, text), env={"BORIS": "b"}))
    assert view["gateway"]["admin_token"] == "***"
    assert view["operators"][0]["token"] == "***"
    assert view["operators"][1]["token_env"] == "BORIS"
    assert view["channels"]["twilio"]["auth_token"] == "***"
    assert view["channels"]["twilio"]["account_sid"] == "AC1"
    assert view["redis"]["url"] == "redis://:***@127.0.0.1:6379/0"
    assert "hunter2" not in repr(view) and "token-anna" not in repr(view)


BROKEN = [
    (
        "capacity = { total = 2, phone = 1 }",
        "capcity = { total = 2, phone = 1 }",
        ["operators[1].capacity: missing", "operators[1].capcity: unknown key"],
    ),
    (
        'http = "127.0.0.1:8080"',
        'http = "localhost"',
        ["gateway.http: expected \"HOST:PORT\", got 'localhost'"],
    ),
    (
        'smtp = "127.0.0.1:2525"',
        'smtp = "127.0.0.1:70000"',
        ["gateway.smtp: expected \"HOST:PORT\", got '127.0.0.1:70000'"],
    ),
    (
        'default_region = "RU"',
        'default_region = "XX"',
        ["gateway.default_region: unknown phone region 'XX'; use a code like \"RU\""],
    ),
    (
        'id = "boris"',
        'id = "anna"',
        [
            "operators[1].id: duplicate operator id 'anna'",
            "services[0].operators[1]: unknown operator 'boris'",
        ],
    ),
    (
        'id = "boris"',
        'id = "Boris"',
        [
            "operators[1].id: 'Boris' must match [a-z0-9_-]+",
            "services[0].operators[1]: unknown operator 'boris'",
        ],
    ),
    (
        'phone = "8 (495) 000-00-01"',
        'phone = "call me"',
        ["operators[0].phone: 'call me' is not a phone number (in region RU)"],
    ),
    (
        "total = 2, phone = 1",
        "total = 2, phone = -1",
        ["operators[1].capacity.phone: must be at least 0, got -1"],
    ),
    (
        "capacity = { total = 3 }",
        'capacity = { total = "3" }',
        ["operators[0].capacity.total: expected an integer, got a string"],
    ),
    (
        'token = "token-anna"',
        'token = "token-anna"\ntoken_env = "ANNA_TOKEN"',
        ["operators[0].token: give either token or token_env, not both"],
    ),
    ('token = "token-anna"\n', "", ["operators[0].token: missing (or set token_env)"]),
    (
        'token = "token-boris"',
        'token = "token-anna"',
        ["operators[1].token: same token as operator 'anna'"],
    ),
    (
        'operators = ["anna", "boris"]',
        'operators = ["anna", "zed"]',
        ["services[0].operators[1]: unknown operator 'zed'"],
    ),
    (
        "[routing]",
        '[[services]]\nid = "support"\noperators = []\n\n[routing]',
        ["services[1].id: duplicate service id 'support'"],
    ),
    (
        'operators = ["anna", "boris"]',
        'operators = ["anna", "boris"]\nsticky_owner = "yes"',
        ["services[0].sticky_owner: expected true or false, got a string"],
    ),
    (
        'service = "support"\n\n[routing]',
        'service = "sales"\n\n[routing]',
        ["rules[0].service: unknown service 'sales'"],
    ),
    (
        'service = "support"\n\n[routing]',
        'type = "urgent"\n\n[routing]',
        ["rules[0].type: unknown type 'urgent'"],
    ),
    (
        'service = "support"\n\n[routing]',
        "priority = 0\n\n[routing]",
        ["rules[0].priority: must be at least 1, got 0"],
    ),
    (
        'service = "support"\n\n[routing]',
        "priority = 5\n\n[routing]",
        ["rules[0].priority: priority 5 has no [sla.5]"],
    ),
    (
        'service = "support"\n\n[routing]',
        "\n[routing]",
        ["rules[0]: needs at least one result: service, type or priority"],
    ),
    ('channel = "sms", to', 'channel = "sms", too', ["rules[0].when.too: unknown key"]),
    (
        'channel = "sms"',
        'channel = "fax"',
        ["rules[0].when.channel: expected one of phone, chat, email, sms, webform; got 'fax'"],
    ),
    (
        'channel = "sms"',
        'subject = "("',
        [
            "rules[0].when.subject: invalid regular expression: "
            "missing ), unterminated subpattern at position 0"
        ],
    ),
    (
        'channel = "sms"',
        "field.qty = 3",
        ["rules[0].when.field.qty: expected a string, got an integer"],
    ),
    ('channel = "sms"', 'form = "nope"', ["rules[0].when.form: unknown form 'nope'"]),
    (
        "request = 2\n",
        "request = 2\nurgent = 0\n",
        ["types.urgent: expected a priority (a whole number >= 1), got 0"],
    ),
    ('default = "request"', 'default = "other"', ["types.default: unknown type 'other'"]),
    ("request = 2\n", "request = 2\nurgent = 1\n", ["types.urgent: priority 1 has no [sla.1]"]),
    (
        'reaction = "1h"',
        'reaction = "soon"',
        ['sla.2.reaction: expected a duration like "90s", "15m", "4h" or "2d", got \'soon\''],
    ),
    ('reaction = "1h"', 'reaction = "2d"', ["sla.2.reaction: is longer than resolution"]),
    (
        "[[operators]]",
        '[sla.high]\nreaction = "1h"\nresolution = "1d"\n\n[[operators]]',
        ["sla.high: expected a priority (a whole number >= 1), like [sla.1]"],
    ),
    (
        "[types]",
        '[cases]\nsubject_tag = "[Case]"\nreopen_within = "a week"\n\n[types]',
        [
            'cases.subject_tag: must contain "{id}"',
            'cases.reopen_within: expected a duration like "90s", "15m", "4h" or "2d", '
            "got 'a week'",
        ],
    ),
    (
        'default_service = "support"',
        'default_service = "sales"',
        ["routing.default_service: unknown service 'sales'"],
    ),
    (
        'default_service = "support"',
        'default_service = "support"\noffer_timeout = { fax = "20s", chat = "0s" }',
        [
            "routing.offer_timeout.fax: unknown channel; "
            "expected one of phone, chat, email, sms, webform",
            "routing.offer_timeout.chat: must be longer than zero",
        ],
    ),
    (
        'domains = ["example.com"]',
        'domains = "example.com"\nmax_message_bytes = 0',
        [
            "channels.email.domains: expected a list of strings, got a string",
            "channels.email.max_message_bytes: must be at least 1, got 0",
        ],
    ),
    (
        'id = "contact"\nservice = "support"',
        'id = "contact"\nservice = "sales"',
        ["channels.webform.forms[0].service: unknown service 'sales'"],
    ),
    (
        'redirect = "/thanks"\n',
        'redirect = "/thanks"\n\n[[channels.webform.forms]]\nid = "contact"\nservice = "support"\n',
        [
            "channels.webform.forms[1].redirect: missing",
            "channels.webform.forms[1].id: duplicate form id 'contact'",
        ],
    ),
    (
        "[[channels.webform.forms]]",
        '[channels.twilio]\napi_base = "ftp://example.com"\n\n[[channels.webform.forms]]',
        [
            "channels.twilio.account_sid: missing",
            "channels.twilio.auth_token: missing (or set auth_token_env)",
            "channels.twilio.api_base: expected an http:// or https:// URL, got 'ftp://example.com'",
        ],
    ),
    (
        "[[channels.webform.forms]]",
        '[[channels.email.imap]]\nhost = "imap.example.com"\nuser = "u"\nport = 0\n\n'
        "[[channels.webform.forms]]",
        [
            "channels.email.imap[0].port: must be at least 1, got 0",
            "channels.email.imap[0].password: missing (or set password_env)",
        ],
    ),
    (
        'admin_token = "admin"',
        'admin_token = "admin"\nprocesses = "many"\nworkers = "2"',
        [
            "gateway.processes: expected a whole number >= 1 or \"auto\", got 'many'",
            "gateway.workers: expected an integer, got a string",
        ],
    ),
    ('admin_token = "admin"\n', "", ["gateway.admin_token: missing (or set admin_token_env)"]),
    (
        "[routing]",
        '[redis]\nurl = "http://127.0.0.1:6379"\n\n[routing]',
        ["redis.url: expected a redis://, rediss:// or unix:// URL"],
    ),
    (
        "[routing]",
        '[redis]\ndurability = "sometimes"\n\n[routing]',
        ["redis.durability: expected one of always, everysec; got 'sometimes'"],
    ),
    (
        "[types]",
        "[channel.email]\ndomains = []\n\n[types]",
        ["channel: unknown key"],
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), BROKEN)
def test_broken_config_names_the_key(
    tmp_path: Path, old: str, new: str, expected: list[str]
) -> None:
    path = write(tmp_path, mutate(old, new))
    assert problems_of(path) == [f"broken.toml: {line}" for line in expected]


def test_many_broken_configs_are_tested() -> None:
    assert len(BROKEN) >= 20


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    text = mutate('http = "127.0.0.1:8080"', 'http = "nowhere"')
    text = text.replace('default = "request"', 'default = "other"')
    text = text.replace('default_service = "support"', 'default_service = "sales"')
    text = text.replace("total = 2, phone = 1", "total = -2, phone = 1")
    assert problems_of(write(tmp_path, text)) == [
        "broken.toml: gateway.http: expected \"HOST:PORT\", got 'nowhere'",
        "broken.toml: types.default: unknown type 'other'",
        "broken.toml: operators[1].capacity.total: must be at least 0, got -2",
        "broken.toml: routing.default_service: unknown service 'sales'",
    ]


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "absent.toml")
    assert problems_of(path) == [
        f"absent.toml: <file>: cannot read {path}: No such file or directory"
    ]


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[gateway]\nhttp = \n", "config.toml")
    (line,) = problems_of(path)
    assert line.startswith("config.toml: <syntax>: ")
    assert "line 2" in line


def test_config_error_is_an_invalid_field_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, ""), env={})
    assert status_of(caught.value) == 422
    assert "broken.toml: gateway.default_region: missing" in caught.value.problems
