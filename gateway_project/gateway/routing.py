"""The route table: which upstream owns a public path, and whether it needs a token."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from urllib3.util import parse_url

from .balancing import Balancer
from .metrics import upstream_errors_start

PUBLIC = "public"
TOKEN = "token"
AUTH_MODES = (PUBLIC, TOKEN)
# Paths the gateway answers itself and never forwards, whatever the table says:
# a client must never reach a service's metrics through the public address.
RESERVED_PREFIXES = ("/metrics",)


@dataclass(frozen=True)
class Route:
    prefix: str
    upstream: str
    # Spreads the route's requests over its upstream's addresses; shared by every route to that upstream.
    balancer: Balancer
    # Only a request with a valid, unrevoked access token gets through.
    token_required: bool = False
    # The upstream is one of our services: it gets the gateway's X-Internal-Auth.
    signed: bool = False
    # GETs may be answered from a current copy of the user's answer (gateway.edge); token routes only.
    edge: bool = False


def route_parts(route: str | dict) -> tuple[str | None, str | None]:
    """(upstream, auth mode) of a route table entry: an upstream name, or a dict naming both."""
    if isinstance(route, dict):
        return route.get("upstream"), route.get("auth", PUBLIC)
    return route, PUBLIC


def matches(prefix: str, path: str) -> bool:
    """Whether ``prefix`` owns ``path``: whole segments only.

    "/api/profile" owns "/api/profile/x", not "/api/profiles".
    """
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def reserved(path: str) -> bool:
    """Whether ``path`` is one the gateway never forwards, dot segments ("/api/../metrics") resolved."""
    if "/." in path:
        path = posixpath.normpath(path)
    return any(matches(prefix, path) for prefix in RESERVED_PREFIXES)


def upstream_urls(value: str | Sequence[str]) -> tuple[str, ...]:
    """An upstream's base URLs, without trailing slashes: from one URL, comma-separated URLs, or a list."""
    urls = value.split(",") if isinstance(value, str) else value
    return tuple(url.strip().rstrip("/") for url in urls if url.strip())


@lru_cache(maxsize=1)
def balancers() -> dict[str, Balancer]:
    """A balancer per configured upstream, made once per process (the table's settings reset it)."""
    made = {
        name: Balancer(name, upstream_urls(value), cooldown=settings.GATEWAY_UPSTREAM_COOLDOWN)
        for name, value in settings.GATEWAY_UPSTREAMS.items()
    }
    for balancer in made.values():
        upstream_errors_start(balancer)
    return made


@lru_cache(maxsize=1)
def _routes_longest_first() -> tuple[Route, ...]:
    routes = []
    for prefix, entry in settings.GATEWAY_ROUTES.items():
        upstream, auth = route_parts(entry)
        routes.append(
            Route(
                prefix=prefix,
                upstream=upstream,
                balancer=balancers()[upstream],
                token_required=auth == TOKEN,
                signed=upstream in settings.GATEWAY_SIGNED_UPSTREAMS,
                edge=isinstance(entry, dict) and entry.get("edge") is True,
            )
        )
    return tuple(sorted(routes, key=lambda route: len(route.prefix), reverse=True))


def resolve(path: str) -> Route | None:
    """The route owning ``path``, or ``None`` when no upstream does (or the path is reserved)."""
    route = next((route for route in _routes_longest_first() if matches(route.prefix, path)), None)
    return None if route is None or reserved(path) else route


def upstreams_in_use() -> dict[str, Balancer]:
    """Each upstream some route points at, with its balancer (and through it, its addresses)."""
    return {route.upstream: route.balancer for route in _routes_longest_first()}


def clear_cache() -> None:
    """Forget the table and the balancers, so both are made again from the settings."""
    _routes_longest_first.cache_clear()
    balancers.cache_clear()


def validate_routes(routes: dict, upstreams: dict, health_paths: dict | None = None) -> list[str]:
    """Problems with a route table and its upstreams: a bad or reserved prefix, an unknown
    upstream or auth mode, an upstream without a usable URL, a health path not starting with '/'."""
    problems = []
    for name, path in (health_paths or {}).items():
        if not isinstance(path, str) or not path.startswith("/"):
            problems.append(f"upstream {name!r}: health path {path!r} must start with '/'")
    for prefix, entry in routes.items():
        upstream, auth = route_parts(entry)
        if not prefix.startswith("/"):
            problems.append(f"route prefix {prefix!r} must start with '/'")
        elif reserved(prefix):
            problems.append(f"route prefix {prefix!r} is reserved: the gateway never forwards it")
        if upstream not in upstreams:
            problems.append(f"route {prefix!r} points at unknown upstream {upstream!r}")
        if auth not in AUTH_MODES:
            problems.append(f"route {prefix!r} has unknown auth mode {auth!r}")
        if isinstance(entry, dict) and entry.get("edge") and auth != TOKEN:
            problems.append(f"route {prefix!r} has edge reads without a token: copies are kept per user")
    for name, value in upstreams.items():
        urls = upstream_urls(value)
        if not urls:
            problems.append(f"upstream {name!r} has no URL")
        for url in urls:
            if not _http_url(url):
                problems.append(f"upstream {name!r}: {url!r} is not an http:// or https:// URL with a host")
    return problems


def _http_url(url: str) -> bool:
    try:
        parsed = parse_url(url)
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host)
