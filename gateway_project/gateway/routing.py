"""The route table: which upstream owns a public path, whether it needs a token, whether it is frozen.

The table is the settings' (``GATEWAY_ROUTES``, with ``GATEWAY_ROUTE_OVERRIDES``)
with the cutover's routes file over it (``GATEWAY_ROUTES_FILE``, ``common.cutover``):
each worker looks at the file's identity (inode, size, mtime) at most once a
second and, when it changed, reads and checks it and swaps the whole table at
once. A request resolves against one table, old or new, so none is dropped
while routes move; a file that is not a valid table is logged and the table in
use stays.
"""

from __future__ import annotations

import logging
import os
import posixpath
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from urllib3.util import parse_url

from common.cutover import empty_state, read_state, with_upstream

from .balancing import Balancer
from .metrics import upstream_errors_start

logger = logging.getLogger(__name__)

PUBLIC = "public"
TOKEN = "token"
AUTH_MODES = (PUBLIC, TOKEN)
# Seconds between two looks at the routes file, per worker.
ROUTES_FILE_CHECK_SECONDS = 1.0
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
    # The cutover's final catch-up is under way: writes are refused (503), reads go on.
    frozen: bool = False


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


def _build(entries: dict, frozen) -> tuple[Route, ...]:
    routes = []
    for prefix, entry in entries.items():
        upstream, auth = route_parts(entry)
        routes.append(
            Route(
                prefix=prefix,
                upstream=upstream,
                balancer=balancers()[upstream],
                token_required=auth == TOKEN,
                signed=upstream in settings.GATEWAY_SIGNED_UPSTREAMS,
                edge=isinstance(entry, dict) and entry.get("edge") is True,
                frozen=prefix in frozen,
            )
        )
    return tuple(sorted(routes, key=lambda route: len(route.prefix), reverse=True))


def table_entries(state: dict) -> dict:
    """The route table entries: the settings' table with the routes file's moves over it.

    A route moved back to the upstream the code gives it gets the code's entry
    again (edge reads included); to any other upstream it keeps its auth mode.
    """
    entries = dict(settings.GATEWAY_ROUTES)
    for prefix, upstream in state["routes"].items():
        service_entry = settings.GATEWAY_SERVICE_ROUTES.get(prefix)
        if service_entry is not None and route_parts(service_entry)[0] == upstream:
            entries[prefix] = service_entry
        else:
            entries[prefix] = with_upstream(entries.get(prefix, upstream), upstream)
    return entries


def routes_file_state() -> dict:
    """The routes file's state (``common.cutover``); an empty one without a file. ``ValueError`` when invalid."""
    path = settings.GATEWAY_ROUTES_FILE
    return read_state(path) if path else empty_state()


def state_problems(state: dict) -> list[str]:
    """What makes the routes file's state unusable as the table."""
    entries = table_entries(state)
    problems = validate_routes(entries, settings.GATEWAY_UPSTREAMS)
    problems += [f"frozen route {prefix!r} is not in the table" for prefix in state["frozen"] if prefix not in entries]
    return problems


class _Table:
    """The table in use in this process, and what the routes file looked like when it was read."""

    def __init__(self):
        self.routes: tuple[Route, ...] | None = None
        self.file_identity = None
        self.checked_at = 0.0
        self.lock = threading.Lock()

    def current(self) -> tuple[Route, ...]:
        routes = self.routes
        if routes is not None and time.monotonic() - self.checked_at < ROUTES_FILE_CHECK_SECONDS:
            return routes
        with self.lock:
            if self.routes is None or time.monotonic() - self.checked_at >= ROUTES_FILE_CHECK_SECONDS:
                self._refresh()
            return self.routes

    def _refresh(self) -> None:
        identity = _file_identity(settings.GATEWAY_ROUTES_FILE)
        self.checked_at = time.monotonic()
        if self.routes is not None and identity == self.file_identity:
            return
        try:
            state = routes_file_state()
            problems = state_problems(state)
        except (OSError, ValueError) as exc:
            problems = [f"unreadable: {exc}"]
        self.file_identity = identity
        if problems:
            logger.error(
                "routes file refused, the table in use stays",
                extra={"path": settings.GATEWAY_ROUTES_FILE, "problems": problems},
            )
            if self.routes is None:
                self.routes = _build(dict(settings.GATEWAY_ROUTES), ())
            return
        changed = self.routes is not None
        self.routes = _build(table_entries(state), state["frozen"])
        if changed:
            logger.info(
                "route table reloaded",
                extra={"moved": state["routes"], "frozen": sorted(state["frozen"])},
            )


def _file_identity(path: str):
    if not path:
        return None
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns


_table = _Table()


def _routes_longest_first() -> tuple[Route, ...]:
    return _table.current()


# What each path resolved to in the table in use: clients ask for the same few paths, so a path is matched
# against the table once, not on every request. Made anew with each table; emptied when this full.
RESOLVED_PATHS_MAX = 1024
_resolved: tuple[tuple[Route, ...] | None, dict[str, Route | None]] = (None, {})
_UNRESOLVED = object()


def resolve(path: str) -> Route | None:
    """The route owning ``path``, or ``None`` when no upstream does (or the path is reserved)."""
    global _resolved
    routes = _routes_longest_first()
    table, paths = _resolved
    if table is not routes:
        paths = {}
        _resolved = (routes, paths)
    route = paths.get(path, _UNRESOLVED)
    if route is _UNRESOLVED:
        route = next((route for route in routes if matches(route.prefix, path)), None)
        if route is not None and reserved(path):
            route = None
        if len(paths) >= RESOLVED_PATHS_MAX:
            paths.clear()
        paths[path] = route
    return route


def upstreams_in_use() -> dict[str, Balancer]:
    """Each upstream some route points at, with its balancer (and through it, its addresses)."""
    return {route.upstream: route.balancer for route in _routes_longest_first()}


def clear_cache() -> None:
    """Forget the table and the balancers, so both are made again from the settings and the routes file."""
    global _table, _resolved
    _table = _Table()
    _resolved = (None, {})
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
