"""Prometheus metrics of every project: requests by route and status, and ``GET /metrics``.

``MetricsMiddleware`` counts and times every request, labelled by the URL
pattern that matched (never the raw path, so the label set stays bounded), the
method and the status. It also answers ``GET /metrics`` itself, ahead of host
validation, rate limits and the internal credential: a scraper reaches a pod by
its IP (a ``Host`` no ``ALLOWED_HOSTS`` lists) and a scrape touches neither
Redis nor a database it does not need.

Where ``/metrics`` answers (``metrics_served_here``):

- ``METRICS_BIND`` set (``host:port``, an address gunicorn listens on besides its
  main one, ``common/gunicorn_conf.py``): only on connections that arrived there;
- unset: on any address, except where ``METRICS_ONLY_ON_METRICS_BIND`` is on (the
  gateway, whose main address is public), which then serves no metrics at all.

Anywhere else ``/metrics`` is a JSON 404, and nothing behind the middleware sees it.

gunicorn runs several worker processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (the
gunicorn config sets it) each worker writes its values to files there and a scrape
adds up every worker's. Without it (tests, a management command) a process
reports its own values.
"""

from __future__ import annotations

import os
import time

from django.conf import settings
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from common.errors import error_response


METRICS_PATH = "/metrics"
# The route label of a request no URL pattern matched.
UNMATCHED = "unmatched"
# Any other method is counted as "other": a client picks the method, not the label set.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "http_requests_total",
    "Requests answered, by URL route (pattern, not path), method and status.",
    ["route", "method", "status"],
)
REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the request reaching the application to its answer, by route, method and status.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class MetricsMiddleware:
    """Counts and times every request by route and status; answers ``GET /metrics``.

    Install it right after ``RequestIdMiddleware``, before anything that may answer
    on its own (host validation, rate limits, the internal credential), so those
    answers are counted too and a scrape reaches none of them.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        # (route, method, status) -> the counter's and the histogram's child: labels()
        # takes a lock and builds a key on every call; this is one dict lookup.
        self._children: dict[tuple[str, str, int], tuple] = {}

    def __call__(self, request):
        start = time.perf_counter()
        if request.path_info == METRICS_PATH:
            response, route = metrics_view(request), "metrics"
        else:
            response = self.get_response(request)
            route = self.route_label(request)
        self.observe(route, request.method, response.status_code, time.perf_counter() - start)
        return response

    def route_label(self, request) -> str:
        """The URL pattern that matched ``request``: from the resolver, or resolved here for an
        answer given before URL resolution (a middleware's refusal)."""
        match = request.resolver_match or resolve_quietly(request)
        return match.route if match is not None else UNMATCHED

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method if method in KNOWN_METHODS else "other", status)
        children = self._children.get(key)
        if children is None:
            labels = (key[0], key[1], str(status))
            children = self._children[key] = (REQUESTS.labels(*labels), REQUEST_DURATION.labels(*labels))
        children[0].inc()
        children[1].observe(seconds)


def resolve_quietly(request):
    """The ``ResolverMatch`` of ``request``'s path, or ``None`` when no pattern matches it."""
    try:
        return resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None


# /metrics
# ------------------------------------------------------------------------------


def metrics_view(request):
    """The Prometheus text exposition of this service's metrics, or a JSON 404 where none are served.

    Where none are served, every method gets the 404: a 405 would tell that something is there.
    """
    if not metrics_served_here(request):
        return error_response("Not found", 404)
    if request.method not in ("GET", "HEAD"):
        return error_response("Method not allowed", 405, headers={"Allow": "GET, HEAD"})
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    for collector in scrape_collectors():
        registry.register(collector)
    # The text format a scraper asks for (Prometheus prefers OpenMetrics), else the classic one.
    encode, content_type = choose_encoder(request.headers.get("Accept"))
    return HttpResponse(encode(registry), content_type=content_type)


def metrics_served_here(request) -> bool:
    """Whether ``/metrics`` answers this request (see the module's docstring)."""
    port = bind_port(settings.METRICS_BIND)
    if port is None:
        return not settings.METRICS_ONLY_ON_METRICS_BIND
    return local_port(request) == port


def bind_port(bind: str) -> int | None:
    """The TCP port of a ``host:port`` address (``0.0.0.0:9100``, ``[::]:9100``); ``None`` when empty or not TCP."""
    host, _, port = bind.rpartition(":")
    return int(port) if host and port.isdigit() else None


def local_port(request) -> int | None:
    """The port of this server that the request's connection arrived on; ``None`` when unknown.

    Read from the connection's socket (gunicorn puts it in the WSGI environ), not
    from ``SERVER_PORT`` or ``Host``, which on some listeners come from the client.
    """
    connection = request.META.get("gunicorn.socket")
    if connection is None:
        return None
    try:
        address = connection.getsockname()
    except OSError:
        return None
    return address[1] if isinstance(address, tuple) else None


def scrape_collectors() -> list:
    """This project's scrape-time collectors (``METRICS_SCRAPE_COLLECTORS``, e.g. the event tables'
    ``common.events.metrics.EventTablesCollector``), one new instance each."""
    return [import_string(path)() for path in settings.METRICS_SCRAPE_COLLECTORS]
