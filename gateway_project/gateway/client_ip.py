"""The client's address, as far as the gateway can trust it (rate limits key on it)."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """``REMOTE_ADDR``, or with ``GATEWAY_TRUSTED_PROXY_COUNT`` = N the N-th address from the right of X-Forwarded-For.

    Only the addresses our own proxies appended can be trusted: everything left
    of them is whatever the client wrote. When the header is shorter than
    expected or holds something that is not an address, ``REMOTE_ADDR`` it is.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "")
    trusted = settings.GATEWAY_TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote_addr
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(hops) < trusted:
        return remote_addr
    candidate = hops[-trusted]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr
