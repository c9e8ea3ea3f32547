"""The client's address: the TCP peer, unless that peer is a proxy we were told to trust.

X-Forwarded-For is client-controlled: believing it from anyone would let an attacker pick the
address every per-IP limit and every audit row sees. So it is read only when the peer is in
EXCHANGE_TRUSTED_PROXIES, and then from the right: the first hop that is not one of our proxies
is the client (hops further left were written by whoever sent the request).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def trusted_networks(setting: str) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False)
        for part in setting.split(",")
        if part.strip()
    )


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(peer: str | None, forwarded_for: str | None, trusted_proxies: str) -> str | None:
    networks = trusted_networks(trusted_proxies)
    if peer is None or not forwarded_for or not networks or not _trusted(peer, networks):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed chain: fall back to what we know
        if not _trusted(hop, networks):
            return hop
    return peer
