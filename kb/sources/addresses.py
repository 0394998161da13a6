"""Which addresses a fetch may go to: http(s) URLs whose host resolves only to public addresses
(no loopback, private, link-local, reserved or multicast ones, also where an IPv6 form embeds an
IPv4 address), unless the address is in the allowed networks (sources.toml `[fetch] allow`)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

# IPv6 ranges that carry an IPv4 address in their last 32 bits: IPv4-compatible (::a.b.c.d) and NAT64.
_EMBEDS_IPV4 = [ipaddress.ip_network("::/96"), ipaddress.ip_network("64:ff9b::/96")]
_NEVER_PUBLIC = [ipaddress.ip_network("64:ff9b:1::/48")]  # local-use NAT64 (RFC 8215)


class Refused(ValueError):
    """A URL that must not be fetched, with the reason."""


def networks(allow: list[str]) -> list:
    """The allowed networks, from addresses or CIDR blocks."""
    return [ipaddress.ip_network(a, strict=False) for a in allow]


def checked(url: str, allowed: list) -> tuple[str, str]:
    """(host, the first of its addresses) once every address `url`'s host resolves to passes;
    Refused otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused(f"scheme {parts.scheme or 'none'!r} not allowed (http/https only)")
    host = parts.hostname
    if not host:
        raise Refused("no host in URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from None
    found = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in found:
        if not is_public(address, allowed):
            raise Refused(f"refused: {host} is a non-public address ({address})")
    if not found:
        raise Refused(f"cannot resolve {host}: no address")
    return host, str(found[0])


def is_public(address, allowed: list) -> bool:
    """Whether `address`, and every IPv4 address embedded in it, is public (or allowed)."""
    if any(address in net for net in allowed):
        return True
    embedded = _embedded_ipv4(address)
    if embedded and all(any(v4 in net for net in allowed) for v4 in embedded):
        return True
    if any(address in net for net in _NEVER_PUBLIC):
        return False
    return all(a.is_global and not a.is_multicast for a in [address, *embedded])


def _embedded_ipv4(address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries: mapped, IPv4-compatible, NAT64, 6to4, Teredo."""
    if address.version != 6:
        return []
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if any(address in net for net in _EMBEDS_IPV4):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]
