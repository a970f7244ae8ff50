"""The gateway's own metrics, beside the request metrics every project has (``common.metrics``)."""

from __future__ import annotations

from prometheus_client import Counter

from .balancing import Balancer

# What went wrong in an exchange with one upstream address.
CONNECT = "connect"  # no connection (refused, unreachable, connect timeout): the request was not sent
BUSY = "busy"  # every connection this worker may open to the address in use past the connect timeout: not sent
TIMEOUT = "timeout"  # sent, no answer within GATEWAY_READ_TIMEOUT
PROTOCOL = "protocol"  # sent, then the connection was lost or the answer was not HTTP
SERVER_ERROR = "5xx"  # the upstream answered with a 5xx status
ERROR_KINDS = (CONNECT, BUSY, TIMEOUT, PROTOCOL, SERVER_ERROR)

UPSTREAM_ERRORS = Counter(
    "gateway_upstream_errors_total",
    "Failed exchanges with an upstream, by upstream, base URL and kind (connect, busy, timeout, protocol, 5xx).",
    ["upstream", "url", "kind"],
)


def upstream_errors_start(balancer: Balancer) -> None:
    """Every error series of ``balancer``'s addresses at 0, so each is scraped before its first error."""
    for address in balancer.addresses:
        for kind in ERROR_KINDS:
            UPSTREAM_ERRORS.labels(balancer.upstream, address.url, kind)


def upstream_error(upstream: str, url: str, kind: str) -> None:
    UPSTREAM_ERRORS.labels(upstream, url, kind).inc()


EDGE_READS = Counter(
    "gateway_edge_reads_total",
    "GETs on edge routes, by route prefix and outcome: hit (served from a current copy), not_modified (a 304 "
    "from one), miss (forwarded).",
    ["route", "outcome"],
)


# (route, outcome) -> its series: labels() takes a lock and builds a key on every call; this is one dict lookup.
_edge_read_series: dict[tuple[str, str], Counter] = {}


def edge_read(route: str, outcome: str) -> None:
    series = _edge_read_series.get((route, outcome))
    if series is None:
        series = _edge_read_series[route, outcome] = EDGE_READS.labels(route, outcome)
    series.inc()
