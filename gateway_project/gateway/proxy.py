"""Forwarding a request to its upstream over pooled keep-alive connections.

Each process keeps connections to each upstream address open between requests
(``gateway.upstream_http``; the probes and the API document use a
``urllib3.PoolManager``, off the request path). The route's balancer (``gateway.balancing``) says
which addresses to try, in order. Connects fail fast; reads have their own
timeout. A request goes to the next address only when that is safe: the
connection could not be made (so the request was never sent), or the method is
safe (GET, HEAD, OPTIONS) and the connection was lost before an answer came.
Whatever goes wrong upstream becomes a JSON error here: 503 when no address can
be reached, 504 when the upstream does not answer in time, 502 when it answers
garbage.

What a client says about who it is (``X-Internal-*``, ``X-User-*``) is dropped;
each of our services gets the gateway's own signed ``X-Internal-Auth`` instead,
naming the user whose token the gateway validated. The legacy monolith never
gets one.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

import urllib3
from django.conf import settings
from django.http import HttpResponse
from urllib3.util import parse_url

from common.errors import error_response
from common.internal_auth import INTERNAL_AUTH_HEADER, sign_internal
from common.request_context import REQUEST_ID_HEADER

from . import metrics
from .authentication import Identity
from .client_ip import client_ip
from .routing import Route
from .upstream_http import (
    BadResponse,
    ConnectFailed,
    ConnectionLost,
    ConnectionPool,
    PoolExhausted,
    ReadTimedOut,
    UpstreamError,
    UpstreamResponse,
)

logger = logging.getLogger(__name__)

# The ``iss`` of every assertion the gateway signs.
ISSUER = "gateway"

# RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Set by the gateway itself for every request; a client's own values are dropped.
GATEWAY_SET_HEADERS = frozenset(
    {"host", "content-length", "x-request-id", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip"}
)
# Who the user is, the services learn from the gateway's signed X-Internal-Auth
# alone: whatever a client claims about itself never reaches an upstream.
IDENTITY_HEADERS = frozenset({"x-user-id", "x-user-email"})
IDENTITY_HEADER_PREFIX = "x-internal-"
_ALWAYS_DROPPED = HOP_BY_HOP_HEADERS | GATEWAY_SET_HEADERS | IDENTITY_HEADERS
# Of an upstream's answer: the gateway sets its own length and request id, and gunicorn its own
# Server and Date (dropping any an application gives it), so copying the upstream's would be work for nothing.
_NOT_RELAYED = HOP_BY_HOP_HEADERS | {"content-length", REQUEST_ID_HEADER.lower(), "server", "date"}
# Sent again to the next address after a connection lost mid-request, when the
# first may have received it. Only the safe methods: PUT and DELETE are idempotent
# by RFC 9110, but here a repeated PUT /api/change-password
# would answer an error for a change that was made.
RESENDABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Seconds a kept connection to one of our services may idle: below gunicorn's keep-alive (30 s).
DEFAULT_MAX_IDLE = 20.0

_pool: urllib3.PoolManager | None = None
# Per upstream base URL: the forwarding connections to its address and the base URL's path, so
# forwarding does not parse a URL and look its pool up on every request.
_upstream_pools: dict[str, tuple[ConnectionPool, str]] = {}


def pool() -> urllib3.PoolManager:
    """The process's pool for the probes and the API document, made on first use (after gunicorn forks)."""
    global _pool
    if _pool is None:
        _pool = urllib3.PoolManager(
            num_pools=16,
            maxsize=settings.GATEWAY_POOL_SIZE,
            block=False,
            timeout=urllib3.Timeout(connect=settings.GATEWAY_CONNECT_TIMEOUT, read=settings.GATEWAY_READ_TIMEOUT),
            # urllib3 retries nothing: each caller decides what goes to the next address.
            retries=False,
        )
    return _pool


def upstream_pool(base_url: str, upstream: str = "") -> tuple[ConnectionPool, str]:
    """The forwarding connections to an address of ``upstream``, and its base URL's path ("" usually).

    A connection idle longer than the upstream keeps it is dropped before it is used
    (``GATEWAY_UPSTREAM_MAX_IDLE``): the monolith, Node.js, closes one after 5 s.
    """
    found = _upstream_pools.get(base_url)
    if found is None:
        url = parse_url(base_url)
        tls = url.scheme == "https"
        found = _upstream_pools[base_url] = (
            ConnectionPool(
                url.host,
                url.port or (443 if tls else 80),
                tls=tls,
                maxsize=settings.GATEWAY_POOL_SIZE,
                connect_timeout=settings.GATEWAY_CONNECT_TIMEOUT,
                read_timeout=settings.GATEWAY_READ_TIMEOUT,
                max_idle=settings.GATEWAY_UPSTREAM_MAX_IDLE.get(upstream, DEFAULT_MAX_IDLE),
            ),
            (url.path or "").rstrip("/"),
        )
    return found


def clear_pools() -> None:
    """Close every kept connection and forget the pools (made again from the settings on next use)."""
    global _pool
    for connections, _ in _upstream_pools.values():
        connections.clear()
    _upstream_pools.clear()
    if _pool is not None:
        _pool.clear()
    _pool = None


def _connection_options(connection: str | None) -> set[str]:
    """Header names a ``Connection`` header lists: hop-by-hop too (RFC 9110 section 7.6.1)."""
    return {option.strip().lower() for option in (connection or "").split(",") if option.strip()}


def upstream_headers(
    request, route: Route, identity: Identity | None = None, extra_headers: dict[str, str] | None = None
) -> dict[str, str]:
    """The headers to send upstream: the client's, minus hop-by-hop and identity, plus forwarding facts.

    A service upstream also gets ``X-Internal-Auth``: the gateway's signed word
    on who calls, with the user ``identity`` names when a token was validated.
    """
    connection_options = _connection_options(request.headers.get("Connection"))
    headers = {
        name: value
        for name, value in request.headers.items()
        if (lowered := name.lower()) not in _ALWAYS_DROPPED
        and lowered not in connection_options
        and not lowered.startswith(IDENTITY_HEADER_PREFIX)
    }
    remote_addr = request.META.get("REMOTE_ADDR", "")
    earlier = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{earlier}, {remote_addr}" if earlier else remote_addr
    headers["X-Forwarded-Host"] = request.get_host()
    headers["X-Forwarded-Proto"] = request.scheme
    # The client as the rate limits see it (GATEWAY_TRUSTED_PROXY_COUNT): the admin's sign-in lockout keys on it.
    headers["X-Real-IP"] = client_ip(request)
    headers[REQUEST_ID_HEADER] = request.request_id
    if route.signed:
        headers[INTERNAL_AUTH_HEADER] = internal_assertion(route.upstream, identity, request.method, request.path)
        if extra_headers:
            headers.update(extra_headers)
    return headers


def internal_assertion(upstream: str, identity: Identity | None, method: str, path: str) -> str:
    """``X-Internal-Auth`` for one ``method`` ``path`` request to ``upstream``, naming the user when there is one.

    The path is the one forwarded: a service's base URLs carry no path of their own.
    """
    if identity is None:
        return sign_internal(upstream, issuer=ISSUER, method=method, path=path)
    return sign_internal(
        upstream,
        issuer=ISSUER,
        method=method,
        path=path,
        user_id=identity.user_id,
        email=identity.email,
        jti=identity.jti,
        token_exp=identity.token_exp,
    )


def forward(
    request, route: Route, identity: Identity | None = None, extra_headers: dict[str, str] | None = None
) -> HttpResponse:
    """Send ``request`` to an address of ``route``'s upstream and relay its answer.

    ``extra_headers`` are the gateway's own word to one of its services (``X-Internal-*``): sent to signed upstreams only.

    The next address gets the request after a failed connect (it was never sent),
    or, for a safe method, after the connection was lost before an answer.
    """
    balancer = route.balancer
    method = request.method
    target = request.get_full_path()
    # Without a Content-Length Django reads no body (b""): not asking spares a GET a read of nothing.
    body = (request.body or None) if request.META.get("CONTENT_LENGTH") else None
    headers = upstream_headers(request, route, identity, extra_headers)
    failure: UpstreamError | None = None
    for address in balancer.attempt_order():
        connections, base_path = upstream_pool(address.url, route.upstream)
        try:
            upstream = connections.request(method, base_path + target, headers, body)
        except ConnectFailed as exc:  # refused, unreachable, unknown host, not accepted in time, all in use
            busy = isinstance(exc, PoolExhausted)
            if not busy:  # busy is not gone: the address stays in use
                balancer.connect_failed(address, exc)
            failure = _attempt_failed(route, address.url, metrics.BUSY if busy else metrics.CONNECT, exc)
            continue
        except ReadTimedOut as exc:
            # Slow, not gone: another address would only double the work.
            return _upstream_failure(route, _attempt_failed(route, address.url, metrics.TIMEOUT, exc))
        except (ConnectionLost, BadResponse) as exc:
            failure = _attempt_failed(route, address.url, metrics.PROTOCOL, exc)
            if isinstance(exc, ConnectionLost) and method in RESENDABLE_METHODS:
                continue
            return _upstream_failure(route, failure)
        balancer.connected(address)
        if upstream.status >= 500:
            metrics.upstream_error(route.upstream, address.url, metrics.SERVER_ERROR)
        return relay(upstream)
    return _upstream_failure(route, failure)


def _attempt_failed(route: Route, url: str, kind: str, exc: UpstreamError) -> UpstreamError:
    """Count and log one failed exchange with one address; ``exc`` back."""
    metrics.upstream_error(route.upstream, url, kind)
    logger.warning("upstream attempt failed", extra={"upstream": route.upstream, "url": url, "error": type(exc).__name__})
    return exc


def _upstream_failure(route: Route, exc: UpstreamError) -> HttpResponse:
    """The client's answer when no address gave one: 504 for a timeout, 503 when none could be reached, else 502."""
    if isinstance(exc, ReadTimedOut):
        status, message = 504, "Upstream timed out"
    elif isinstance(exc, ConnectFailed):
        status, message = 503, "Service unavailable"
    else:
        status, message = 502, "Bad gateway"
    logger.warning(
        "upstream failure",
        extra={"upstream": route.upstream, "error": type(exc).__name__, "status": status},
    )
    return error_response(message, status)


def relay(upstream: UpstreamResponse) -> HttpResponse:
    """The upstream's answer as a Django response, errors kept JSON."""
    if upstream.status >= 400 and "json" not in (upstream.header("Content-Type") or "").lower():
        # An upstream error page (the legacy monolith's HTML stack traces, say)
        # never reaches a client: keep the status, replace the body.
        return error_response(_reason(upstream.status), upstream.status)
    response = HttpResponse(upstream.data, status=upstream.status)
    headers = response.headers
    connection_options = _connection_options(upstream.header("Connection"))
    for lowered, (name, *values) in upstream.fields.items():  # each field once, however many lines it came on
        if lowered in _NOT_RELAYED or lowered in connection_options:
            continue
        if lowered == "set-cookie":
            for value in values:
                response.cookies.load(value)
        else:
            # Repeated lines of a field are one comma-separated list (RFC 9110 section 5.3).
            headers[name] = values[0] if len(values) == 1 else ", ".join(values)
    return response


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Upstream error"
