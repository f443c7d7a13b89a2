"""[limits]: requests a minute per client address (webhooks, forms, chat hellos) and per
signed-in operator (the API); 0 turns one off. `exempt` networks are never limited (loopback
by default: local tools and the benches); X-Forwarded-For is believed only from
`trusted_proxies`."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from channels.settings import Table

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = ("127.0.0.0/8", "::1/128")


def networks(*texts: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(text, strict=False) for text in texts)


@dataclass(frozen=True)
class LimitSettings:
    webhooks_per_minute: int = 1200  # per source address, every /hooks/ route together
    forms_per_minute: int = 30  # per source address, submissions to /forms/
    chat_hellos_per_minute: int = 30  # per source address, `hello` frames on /chat/ws
    api_per_minute: int = 1200  # per operator (or the admin), every /api/ route together
    exempt: tuple[Network, ...] = field(default_factory=lambda: networks(*LOOPBACK))
    trusted_proxies: tuple[Network, ...] = ()


def read(table: Table) -> LimitSettings:
    default = LimitSettings()
    settings = LimitSettings(
        webhooks_per_minute=table.integer("webhooks_per_minute", default.webhooks_per_minute),
        forms_per_minute=table.integer("forms_per_minute", default.forms_per_minute),
        chat_hellos_per_minute=table.integer(
            "chat_hellos_per_minute", default.chat_hellos_per_minute
        ),
        api_per_minute=table.integer("api_per_minute", default.api_per_minute),
        exempt=_read_networks(table, "exempt", LOOPBACK),
        trusted_proxies=_read_networks(table, "trusted_proxies", ()),
    )
    table.close()
    return settings


def _read_networks(table: Table, name: str, default: tuple[str, ...]) -> tuple[Network, ...]:
    if not table.has(name):
        return networks(*default)
    found = []
    for index, text in enumerate(table.strings(name)):
        try:
            found.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            table.problem(f"{name}[{index}]", f"expected an address or network, got {text!r}")
    return tuple(found)
