"""Whether an address is loopback: the one test behind "plain HTTP is fine here" (the API's TLS
decision) and "this caller is on the box itself" (the /metrics gate), so both mean the same."""

from __future__ import annotations

import ipaddress


def is_loopback(address: str | None) -> bool:
    """True only for addresses no other machine can reach: localhost, 127.0.0.0/8, ::1 and the
    IPv4-mapped form of 127.0.0.0/8 (how a dual-stack socket reports an IPv4 loopback peer)."""
    name = (address or "").strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback
