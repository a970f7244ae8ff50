"""The route table: which upstream owns a public path, and whether it needs a token."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

PUBLIC = "public"
TOKEN = "token"
AUTH_MODES = (PUBLIC, TOKEN)


@dataclass(frozen=True)
class Route:
    prefix: str
    upstream: str
    base_url: str
    # Only a request with a valid, unrevoked access token gets through.
    token_required: bool = False
    # The upstream is one of our services: it gets the gateway's X-Internal-Auth.
    signed: bool = False


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


@lru_cache(maxsize=1)
def _routes_longest_first() -> tuple[Route, ...]:
    routes = []
    for prefix, entry in settings.GATEWAY_ROUTES.items():
        upstream, auth = route_parts(entry)
        routes.append(
            Route(
                prefix=prefix,
                upstream=upstream,
                base_url=settings.GATEWAY_UPSTREAMS[upstream].rstrip("/"),
                token_required=auth == TOKEN,
                signed=upstream in settings.GATEWAY_SIGNED_UPSTREAMS,
            )
        )
    return tuple(sorted(routes, key=lambda route: len(route.prefix), reverse=True))


def resolve(path: str) -> Route | None:
    """The route owning ``path``, or ``None`` when no upstream does."""
    return next((route for route in _routes_longest_first() if matches(route.prefix, path)), None)


def upstreams_in_use() -> dict[str, str]:
    """Each upstream some route points at, with its base URL."""
    return {route.upstream: route.base_url for route in _routes_longest_first()}


def validate_routes(routes: dict, upstreams: dict[str, str]) -> list[str]:
    """Problems with a route table: a bad prefix, an unknown upstream or auth mode."""
    problems = []
    for prefix, entry in routes.items():
        upstream, auth = route_parts(entry)
        if not prefix.startswith("/"):
            problems.append(f"route prefix {prefix!r} must start with '/'")
        if upstream not in upstreams:
            problems.append(f"route {prefix!r} points at unknown upstream {upstream!r}")
        if auth not in AUTH_MODES:
            problems.append(f"route {prefix!r} has unknown auth mode {auth!r}")
    return problems
