"""The classification catalogue in config.toml: themes, products, service fields, required
fields, triage and the edit window; check-config names every wrong key."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.errors import ConfigError
from gateway.config import load_config
from tests.test_check_config_cli import check_config, problem_lines
from tests.workflow_helpers import config_text

SAMPLE = Path(__file__).resolve().parent.parent / "config.toml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_sample_catalogue_is_read() -> None:
    config = load_config(str(SAMPLE), env={})
    tariffs = config.routing.catalogue.themes["tariffs"]
    assert tariffs.types == ("consultation", "request", "complaint")
    assert tariffs.subthemes == ("change", "prices") and tariffs.product_required
    assert config.routing.catalogue.products["unlimited"].themes == ("tariffs",)
    billing = config.routing.services["billing"].workflow
    assert billing.fields["method"].choices == ("card", "cash")
    assert config.edit_window == 300.0


def test_workflow_keys_are_read(tmp_path: Path) -> None:
    config = load_config(str(_write(tmp_path, config_text())), env={})
    billing = config.routing.services["billing"].workflow
    # a custom field marked `required` joins required_fields
    assert billing.required == ("theme", "subtheme", "contract")
    assert billing.required_for == "resolve"
    assert config.routing.services["orders"].workflow.required_for == "accept"
    assert config.routing.services["line"].workflow.triage
    assert not config.routing.services["sales"].workflow.triage
    assert config.routing.services["claims"].workflow.return_to == "s1"
    assert config.routing.services["billing"].workflow.return_to is None
    returns = [rule.return_to for rule in config.routing.rules]
    assert returns == [None, None, None, "b", None, "b", "b"]


BROKEN = [
    (
        ('types = ["request", "complaint"]', 'types = ["request", "x"]'),
        "themes[1].types[1]: unknown type 'x'",
    ),
    (
        ('themes = ["delivery"]', 'themes = ["nowhere"]'),
        "products[1].themes[0]: unknown theme 'nowhere'",
    ),
    (
        ('required_fields = ["theme", "subtheme"]', 'required_fields = ["theme", "colour"]'),
        "services[1].required_fields[1]: unknown field 'colour'",
    ),
    (
        ('kind = "number"', 'kind = "money"'),
        "services[0].fields[1].kind: expected one of text, number, choice, date, phone; "
        "got 'money'",
    ),
    (
        ('choices = ["card", "cash"]', "choices = []"),
        'services[0].fields[2].choices: a "choice" field needs a non-empty list of choices',
    ),
    (
        ('kind = "date"', 'kind = "date", choices = ["x"]'),
        "services[0].fields[3].choices: only a \"choice\" field has choices, not 'date'",
    ),
    (
        ('required_for = "accept"', 'required_for = "close"'),
        "services[2].required_for: expected one of resolve, accept; got 'close'",
    ),
    (
        ("triage = true", 'triage = "yes"'),
        "services[3].triage: expected true or false, got a string",
    ),
    (('edit_window = "5m"', 'edit_window = "soon"'), "cases.edit_window: expected a duration"),
    (
        ('id = "amount"', 'id = "contract"'),
        "services[0].fields[1].id: duplicate field id 'contract'",
    ),
    (('id = "courier"', 'id = "unlimited"'), "products[1].id: duplicate product id 'unlimited'"),
    (('return_to = "b"', 'return_to = "zoe"'), "rules[3].return_to: unknown operator 'zoe'"),
    (('return_to = "s1"', 'return_to = "s9"'), "services[5].return_to: unknown operator 's9'"),
    (('return_to = "s1"', "return_to = 1"), "services[5].return_to: expected a string"),
]


@pytest.mark.parametrize(("change", "expected"), BROKEN)
def test_broken_catalogue_names_the_key(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    text = config_text()
    assert change[0] in text
    path = _write(tmp_path, text.replace(change[0], change[1], 1))
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), env={})
    assert any(line.startswith(f"config.toml: {expected}") for line in caught.value.problems), (
        caught.value.problems
    )


def test_check_config_prints_the_catalogue_problems(tmp_path: Path) -> None:
    text = config_text().replace('types = ["request", "complaint"]', 'types = ["request", "x"]')
    text = text.replace('themes = ["delivery"]', 'themes = ["nowhere"]')
    result = check_config("--config", str(_write(tmp_path, text)))
    assert result.returncode == 1
    assert problem_lines(result.stdout, "config.toml") == [
        "config.toml: themes[1].types[1]: unknown type 'x'",
        "config.toml: products[1].themes[0]: unknown theme 'nowhere'",
    ]
