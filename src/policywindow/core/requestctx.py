"""Who and where the current request comes from, for audit events written deep in services.

``client_ip`` is the one place that decides a request's address: login logs, sessions,
objections, audit events and rate limits all use it. ``X-Forwarded-For`` is believed only as
far as it was written by a proxy listed in ``settings.TRUSTED_PROXIES``; anything a client
wrote itself is ignored, so rotating that header does not make a new client.
"""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar
from functools import lru_cache

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_ip: ContextVar[str] = ContextVar("policywindow_request_ip", default="")


def client_ip(request) -> str:
    """The client's address: the socket peer, or what trusted proxies say it was; "" if unknown."""
    peer = parse_address(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return ""
    proxies = trusted_proxies(tuple(settings.TRUSTED_PROXIES))
    return str(_forwarded_client(peer, request.META.get("HTTP_X_FORWARDED_FOR", ""), proxies))


def _forwarded_client(peer: Address, forwarded: str, proxies: tuple[Network, ...]) -> Address:
    """Walk X-Forwarded-For from the right while each hop's sender is a trusted proxy.

    Every trusted proxy appends the address it received the request from, so the rightmost hop
    not in ``proxies`` is the client. Hops further left were written by the client and are
    never read. A malformed hop ends the walk at the last address known to be true.
    """
    client = peer
    for hop in reversed(forwarded.split(",")):
        if not _trusted(client, proxies):
            break
        address = parse_address(hop.strip())
        if address is None:
            break
        client = address
    return client


def _trusted(address: Address, proxies: tuple[Network, ...]) -> bool:
    return any(address in network for network in proxies)


def parse_address(value: str) -> Address | None:
    """An IP address in canonical form (IPv4-mapped IPv6 as IPv4); None when malformed."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


@lru_cache(maxsize=8)
def trusted_proxies(configured: tuple[str, ...]) -> tuple[Network, ...]:
    """The setting's networks (settings.py refuses to start with an invalid entry)."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in configured)


def set_current_ip(ip: str):
    return _ip.set(ip)


def reset_current_ip(token) -> None:
    _ip.reset(token)


def current_ip() -> str:
    return _ip.get()
