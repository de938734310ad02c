"""Which reverse proxies are believed, and the client address the sign-in throttles count by.

``X-Forwarded-Proto`` and ``X-Forwarded-For`` are written by whoever sends the request, so
they are believed only from the proxies ``TRUSTED_PROXIES`` names (addresses or networks).
Anyone else's are dropped before any other middleware reads them: a client cannot make an
http request look like https (``impression_url``, ``SECURE_SSL_REDIRECT``) nor pick the
address its failed sign-ins are counted against.

A leaf: Django's settings and the standard library, nothing of the project.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR")


@functools.cache
def networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """``TRUSTED_PROXIES`` as networks (a bare address is a network of one)."""
    found = []
    for entry in entries:
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {entry!r} is not an IP address or network."
            ) from None
    return tuple(found)


def _trusted() -> tuple[Network, ...]:
    return networks(tuple(settings.TRUSTED_PROXIES))


def _is_in(address: str, trusted: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def from_trusted_proxy(request: HttpRequest) -> bool:
    """Whether ``request`` came (its TCP peer, REMOTE_ADDR) from a proxy we trust."""
    trusted = _trusted()
    return bool(trusted) and _is_in(request.META.get("REMOTE_ADDR", ""), trusted)


def client_ip(request: HttpRequest) -> str | None:
    """The address of whoever sent ``request`` (None for a request from no network, as
    Django's test client makes): REMOTE_ADDR, or behind trusted proxies the last
    ``X-Forwarded-For`` hop that is not one of them (each proxy appends the peer it saw, so
    the hops left of an untrusted one are the client's own claims). Always an IP address
    (django-axes stores it as one)."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    if not _is_ip(remote):
        return None
    trusted = _trusted()
    if not trusted or not _is_in(remote, trusted):
        return remote
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    hops = [hop.strip() for hop in forwarded.split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _is_ip(hop):
            return remote  # not what a proxy appends: believe none of it
        if not _is_in(hop, trusted):
            return hop
    return remote


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class ForwardedHeadersMiddleware:
    """First in MIDDLEWARE: drops the forwarded headers of requests no trusted proxy sent,
    so that SECURE_PROXY_SSL_HEADER (set only with TRUSTED_PROXIES) reads a proxy's word."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        meta = request.META
        if not from_trusted_proxy(request):
            for header in FORWARDED_HEADERS:
                meta.pop(header, None)
        response: HttpResponseBase = self.get_response(request)
        return response
