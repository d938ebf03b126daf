"""Where a status callback may go: a public https URL, never a path into the private network.

Checked when a request is accepted and again before every attempt, and the attempt connects to the address that
was checked (a name that resolves to a public address at accept and to 127.0.0.1 later, DNS rebinding, is
refused then). Addresses are judged by the standard library's `ipaddress`; hosts written as numbers are read the
way the C resolver reads them (`2130706433`, `0x7f000001` and `0177.0.0.1` are all 127.0.0.1), so no spelling
slips past. Hosts named in STATUS_CALLBACK_ALLOWED_HOSTS are exempt from the address rule (and may use http).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from textgate import clock

MAX_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# A host name as DNS spells it (punycode for international names); nothing that a parser could read two ways.
_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$")
# What inet_aton reads as an IPv4 address: one to four parts, each decimal, octal (leading 0) or hex (0x).
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$")
# NAT64's well-known prefix: the IPv4 address in its last 32 bits is the one a NAT64 gateway would reach.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class RefusedUrl(ValueError):
    """The URL may not be called back; the message says why without repeating the URL."""


@dataclass(frozen=True)
class Destination:
    scheme: str  # https, or http for an allowed host
    host: str  # as written (lower case, IPv6 without brackets): the TLS name and the Host header
    port: int
    target: str  # path and query, what the request line carries
    allowed_host: bool  # named in STATUS_CALLBACK_ALLOWED_HOSTS: exempt from the address rule


def parse(url: str, allowed_hosts: Collection[str] = ()) -> Destination:
    """The URL's parts, or RefusedUrl for anything but https (http for an allowed host), user info, a fragment,
    characters outside printable ASCII, or a host that is not a plain name or address."""
    if len(url) > MAX_LENGTH:
        raise RefusedUrl(f"must be at most {MAX_LENGTH} characters")
    if not url.isascii() or any(not char.isprintable() or char.isspace() for char in url):
        raise RefusedUrl("must be printable ASCII without spaces (percent-encode the rest, punycode for names)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RefusedUrl("is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise RefusedUrl("must be an https:// URL")
    if "@" in parts.netloc:
        raise RefusedUrl("must not hold a user name or password")
    if parts.fragment or "#" in url:
        raise RefusedUrl("must not have a fragment (#…)")
    host = (parts.hostname or "").lower()
    if not host:
        raise RefusedUrl("has no host")
    allowed = host.rstrip(".") in {name.strip().lower() for name in allowed_hosts if name.strip()}
    if scheme == "http" and not allowed:
        raise RefusedUrl("must be an https:// URL")
    if port == 0 or parts.netloc.endswith(":") or (":" in host and not parts.netloc.startswith("[")):
        raise RefusedUrl("is not a valid URL")
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise RefusedUrl("has a host that is not a valid IPv6 address") from None
    elif not _HOST_NAME.match(host):
        raise RefusedUrl("has a host that is not a valid name or address")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme, host, port or (443 if scheme == "https" else 80), target, allowed)


def numeric_address(host: str) -> IPAddress | None:
    """The address a host written as a number stands for, read as the C resolver reads it; None for a name."""
    if ":" in host:
        return ipaddress.IPv6Address(host)
    text = host.rstrip(".")
    if not _NUMERIC_HOST.match(text):
        return None
    try:
        values = [
            int(part, 16) if part.startswith("0x") else int(part, 8 if len(part) > 1 and part[0] == "0" else 10)
            for part in (part if part != "0x" else "0x0" for part in text.split("."))
        ]
    except ValueError:  # an octal part with an 8 or a 9: the C resolver reads no address from it either
        raise RefusedUrl("has a host that is not a valid name or address") from None
    *leading, last = values
    if any(value > 255 for value in leading) or last >= 1 << (8 * (4 - len(leading))):
        raise RefusedUrl("has a host that is not a valid name or address")
    number = last
    for index, value in enumerate(leading):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def _embedded(address: IPAddress) -> list[IPAddress]:
    """The IPv4 addresses an IPv6 address carries to its destination (mapped, 6to4, Teredo, NAT64)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[IPAddress] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def refusal(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address (None when it is one)."""
    for inner in _embedded(address):
        reason = refusal(inner)
        if reason is not None:
            return reason
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_link_local, "a link-local address (such as the instance metadata address)"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "a site-local address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        # What is left and not global: shared (carrier-grade NAT), documentation, benchmarking, …
        (not address.is_global, "a special-purpose address that is not public"),
    )
    for refused, reason in checks:
        if refused:
            return reason
    return None


def system_resolver(host: str, port: int) -> list[str]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    addresses: list[str] = []
    for *_, sockaddr in answers:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


# Accept's own lookups, kept a minute: a batch of a thousand items naming the same receiver resolves its host once.
# Only for the check at accept; every attempt resolves afresh and connects to what it checked.
ACCEPT_CACHE_SECONDS = 60.0
_ACCEPT_CACHE_SIZE = 256
_accept_cache: dict[tuple[str, int], tuple[float, list[str]]] = {}


def accept_resolver(host: str, port: int) -> list[str]:
    """`system_resolver`, its answers kept ACCEPT_CACHE_SECONDS (what does not resolve is asked again)."""
    key = (host, port)
    now = clock.now()
    kept = _accept_cache.get(key)
    if kept is not None and kept[0] > now:
        return kept[1]
    addresses = system_resolver(host, port)
    if addresses:
        if len(_accept_cache) >= _ACCEPT_CACHE_SIZE:
            _accept_cache.clear()
        _accept_cache[key] = (now + ACCEPT_CACHE_SECONDS, addresses)
    return addresses


def public_addresses(destination: Destination, resolver: Resolver | None = None) -> list[str]:
    """The addresses to connect to, IPv4 first (a Lambda function often has no IPv6 route): every address the
    host resolves to must be public (an allowed host is exempt). RefusedUrl otherwise, naming only the kind of
    address."""
    numeric = numeric_address(destination.host)
    if numeric is not None:
        addresses: list[Any] = [numeric]
    else:
        resolved = (resolver or system_resolver)(destination.host, destination.port)
        if not resolved:
            raise RefusedUrl("has a host that does not resolve")
        try:
            addresses = [ipaddress.ip_address(text.split("%", 1)[0]) for text in resolved]
        except ValueError:
            raise RefusedUrl("has a host that does not resolve to an IP address") from None
    if not destination.allowed_host:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                raise RefusedUrl(f"must resolve only to public addresses: its host is {reason}")
        if (
            numeric is not None
            and isinstance(numeric, ipaddress.IPv4Address)
            and destination.host.rstrip(".") != str(numeric)
        ):
            raise RefusedUrl("has an IPv4 address that is not written in dotted decimal")
    return [str(address) for address in sorted(addresses, key=lambda address: address.version)]


def check(url: str, allowed_hosts: Collection[str] = (), resolver: Resolver | None = None) -> Destination:
    """What accept runs: the URL's form, then the addresses its host resolves to."""
    destination = parse(url, allowed_hosts)
    public_addresses(destination, resolver)
    return destination
