"""Whose request this is: the peer's address, or behind a trusted proxy the client it names.

X-Forwarded-For is read right to left and the first address not of a trusted proxy is the
client: anything left of it was written by the client itself and proves nothing.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from gateway.limits.settings import Network


# Every limited request asks this of its peer (parsing an address costs a few microseconds);
# the peers are few and repeat: proxies, providers' webhook senders.
@lru_cache(maxsize=4096)
def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str, forwarded_for: str, trusted: tuple[Network, ...]) -> str:
    """The address limits count (and chat sessions are opened) by."""
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop
    return hops[0] if hops else peer


def is_exempt(address: str, exempt: tuple[Network, ...]) -> bool:
    return _within(address, exempt)
