"""A caller is one contact whatever way the number is written, in the configured region;
a withheld caller ID never matches anyone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import Config
from tests.conftest import GatewayFactory
from tests.helpers import SAMPLE_CONFIG
from tests.phone_calls import phone_event

RU_FORMS = ["+7 916 123-45-67", "8 (916) 123-45-67", "79161234567", "00 7 916 123 45 67"]
WARSAW_FROM_RU = ["+48 22 123 45 67", "810 48 22 123 45 67", "8 10 48 22 1234567"]
PL_FORMS = ["0 22 123 45 67", "22 123 45 67", "00 48 22 123 45 67", "+48221234567"]


async def contacts_of(client: TestClient, callers: list[str]) -> set[str]:
    found = set()
    for n, caller in enumerate(callers):
        event = {"id": f"{caller}-{n}", "event": "ringing", "call_id": f"{caller}-{n}",
                 "from": caller, "to": "+74950000010"}  # fmt: skip
        pop = await phone_event(client, **event)
        found.add((pop["contact"]["id"], tuple(pop["contact"]["phones"])))
    return {f"{contact} {phones}" for contact, phones in found}


async def test_russian_forms_are_one_contact(gateway: TestClient) -> None:
    [one] = await contacts_of(gateway, RU_FORMS)
    assert one.endswith("('+79161234567',)")
    [warsaw] = await contacts_of(gateway, WARSAW_FROM_RU)
    assert warsaw.endswith("('+48221234567',)")


@pytest.fixture
def polish(write_config: Callable[[str], Config]) -> Config:
    text = SAMPLE_CONFIG.read_text().replace('default_region = "RU"', 'default_region = "PL"')
    return write_config(text)


async def test_polish_forms_are_one_contact(make_gateway: GatewayFactory, polish: Config) -> None:
    client = await make_gateway(polish)
    [one] = await contacts_of(client, PL_FORMS)
    assert one.endswith("('+48221234567',)")


async def test_withheld_never_joins_a_known_contact(gateway: TestClient) -> None:
    known = await contacts_of(gateway, ["+7 916 123-45-67"])
    withheld = await contacts_of(gateway, ["anonymous", "restricted", "", "unknown", "+266696687"])
    assert len(withheld) == 5 and not withheld & known
    assert all(entry.endswith("()") for entry in withheld)
