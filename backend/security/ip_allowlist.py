"""IP allowlists of API keys: networks in CIDR notation (a bare address is a /32 or /128)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from backend.domain.errors import InvalidInput

MAX_ENTRIES = 30

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def normalize(entries: Iterable[str], field: str = "ipAllowlist") -> list[str]:
    """Canonical CIDR strings, deduplicated in order; InvalidInput names the first bad entry."""
    networks: list[str] = []
    for raw in entries:
        try:
            network = ipaddress.ip_network(raw.strip(), strict=False)
        except ValueError:
            raise InvalidInput(field, f"{raw!r} is not an IP address or CIDR network") from None
        if str(network) not in networks:
            networks.append(str(network))
    if len(networks) > MAX_ENTRIES:
        raise InvalidInput(field, f"at most {MAX_ENTRIES} networks")
    return networks


def allows(allowlist: Iterable[str], ip: str | None) -> bool:
    """An empty allowlist allows every address; otherwise the caller's must be in a network."""
    networks = [ipaddress.ip_network(n) for n in allowlist]
    if not networks:
        return True
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in n for n in networks)
