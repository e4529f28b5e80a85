"""Where a webhook may be sent: never a door out of the plant LAN.

A destination URL is allowed when every address its host resolves to lies in one of the
`[webhooks] allowed_networks` (by default loopback and the private ranges), or when the host is
named in `allowed_hosts` (the operator vouches for it, whatever it resolves to). The check runs at
registration and again before every attempt, and the attempt then connects to the address that
was checked, never to a second lookup of the name, so a DNS answer that changes between the check
and the connect (rebinding) cannot point a delivery elsewhere. Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from appliance.config import ConfigError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

DEFAULT_NETWORKS = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
MAX_URL_LENGTH = 2048


class DestinationRefused(ValueError):
    """A URL the appliance will not send to; the message says why, in words a person can act on."""


@dataclass(frozen=True)
class Target:
    """A checked destination: the URL as registered, and the address to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str
    path: str

    @property
    def connect_url(self) -> str:
        """The URL with the checked address in place of the host name (Host and SNI keep the name)."""
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver (hosts file, DNS) gives for ``host``."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _as_list(value: Any) -> list[str]:
    """A TOML list, or the comma-separated string an environment variable gives."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part).strip() for part in value or [] if str(part).strip()]


def _plain(ip: Address) -> Address:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@dataclass(frozen=True)
class Policy:
    networks: tuple[Network, ...]
    hosts: frozenset[str]
    resolve: Resolver = system_resolver

    @classmethod
    def from_config(cls, section: Mapping[str, Any], resolve: Resolver = system_resolver) -> Policy:
        try:
            networks = tuple(
                ipaddress.ip_network(text, strict=False)
                for text in _as_list(section.get("allowed_networks", DEFAULT_NETWORKS))
            )
        except ValueError as exc:
            raise ConfigError(f"[webhooks] allowed_networks: {exc}") from exc
        hosts = frozenset(name.lower().strip("[]") for name in _as_list(section.get("allowed_hosts", [])))
        return cls(networks, hosts, resolve)

    def allows_address(self, address: str) -> bool:
        ip = _plain(ipaddress.ip_address(address))
        if ip.is_unspecified or ip.is_multicast:
            return False
        return any(ip.version == net.version and ip in net for net in self.networks)

    def check(self, url: str) -> Target:
        """Parse, resolve and check ``url``; raises `DestinationRefused` naming the reason."""
        scheme, host, port, path = _parse(url)
        return Target(url, scheme, host, port, self.check_host(host, port), path)

    def check_host(self, host: str, port: int) -> str:
        """Resolve and check ``host``; the checked address to connect to. Connectors (issue #21)
        check their servers' hosts with this same rule."""
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        named = host.lower() in self.hosts
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = self.resolve(host, port)
            except (OSError, UnicodeError) as exc:
                raise DestinationRefused(f"the host {host!r} does not resolve here ({exc})") from exc
            if not addresses:
                raise DestinationRefused(f"the host {host!r} does not resolve here")
        if not named:
            outside = [a for a in addresses if not self.allows_address(a)]
            if outside:
                shown = host if literal is not None else f"{host} ({', '.join(outside)})"
                raise DestinationRefused(
                    f"{shown} is outside the allowed networks ({', '.join(str(n) for n in self.networks)})"
                )
        return addresses[0]


def _parse(url: str) -> tuple[str, str, int, str]:
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused("only http and https URLs are accepted")
    if not parts.hostname:
        raise DestinationRefused("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("credentials in the URL are not accepted; the signature authenticates deliveries")
    if parts.fragment:
        raise DestinationRefused("the URL must not carry a #fragment")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path
