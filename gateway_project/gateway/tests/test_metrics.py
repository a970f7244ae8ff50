"""The gateway's metrics: served only on its internal metrics address, never forwarded, requests by route."""

from __future__ import annotations

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

METRICS_PORT = 9100
PUBLIC_PORT = 8000


class ArrivedOn:
    """The connection socket gunicorn puts in the WSGI environ, as seen from this server's end."""

    def __init__(self, port: int):
        self.port = port

    def getsockname(self):
        return ("127.0.0.1", self.port)


def on(port: int) -> dict:
    """Test client keyword arguments for a request that arrived on ``port``."""
    return {"gunicorn.socket": ArrivedOn(port)}


def requests_counted(route: str, method: str, status: int) -> float:
    labels = {"route": route, "method": method, "status": str(status)}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


def durations_counted(route: str, method: str, status: int) -> float:
    labels = {"route": route, "method": method, "status": str(status)}
    return REGISTRY.get_sample_value("http_request_duration_seconds_count", labels) or 0.0


def assert_not_found(response) -> None:
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    if response.request["REQUEST_METHOD"] != "HEAD":  # the test client drops a HEAD answer's body
        assert response.json() == {"error": "Not found"}


# WHERE /metrics ANSWERS
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE"])
def test_without_a_metrics_address_the_gateway_serves_no_metrics(client, method):
    with override_settings(METRICS_BIND=""):
        assert_not_found(client.generic(method, "/metrics", **on(PUBLIC_PORT)))
        assert_not_found(client.generic(method, "/metrics"))


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_the_public_address_does_not_serve_metrics(client, method):
    with override_settings(METRICS_BIND=f"0.0.0.0:{METRICS_PORT}"):
        assert_not_found(client.generic(method, "/metrics", **on(PUBLIC_PORT)))
        # Neither a Host header nor SERVER_PORT naming the metrics port changes where the connection arrived.
        spoofed = client.get("/metrics", headers={"Host": f"localhost:{METRICS_PORT}"}, SERVER_PORT=str(METRICS_PORT))
        assert_not_found(spoofed)


def test_the_metrics_address_serves_the_prometheus_text_format(client, echo_upstream):
    with override_settings(
        METRICS_BIND=f"127.0.0.1:{METRICS_PORT}",
        GATEWAY_UPSTREAMS={"users": echo_upstream.url},
        GATEWAY_ROUTES={"/api/profile": "users"},
    ):
        client.get("/api/profile")
        response = client.get("/metrics", **on(METRICS_PORT))
        head = client.head("/metrics", **on(METRICS_PORT))
        post = client.post("/metrics", **on(METRICS_PORT))
        openmetrics = client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}, **on(METRICS_PORT)
        )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    assert {"http_requests", "http_request_duration_seconds", "gateway_upstream_errors"} <= set(families)
    proxied = [
        sample
        for sample in families["http_requests"].samples
        if sample.labels == {"route": "/api/profile", "method": "GET", "status": "200"}
    ]
    assert proxied and proxied[0].value >= 1
    assert head.status_code == 200
    assert openmetrics["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert openmetrics.content.endswith(b"# EOF\n")
    assert (post.status_code, post["Allow"], post.json()) == (405, "GET, HEAD", {"error": "Method not allowed"})


@pytest.mark.parametrize(
    "path", ["/metrics", "/metrics/", "/metrics/x", "/api/profile/../../metrics", "/static/%2e%2e/metrics"]
)
def test_no_metrics_path_is_ever_forwarded_even_with_a_catch_all_route(client, echo_upstream, path):
    routes = {"/": "users", "/api/profile": "users", "/static": "users"}
    with override_settings(METRICS_BIND="", GATEWAY_UPSTREAMS={"users": echo_upstream.url}, GATEWAY_ROUTES=routes):
        assert_not_found(client.get(path))
        assert_not_found(client.get(path, **on(PUBLIC_PORT)))

    assert echo_upstream.received == []


# REQUESTS BY ROUTE
# ------------------------------------------------------------------------------


def test_forwarded_requests_are_counted_by_route_prefix_not_path(client, echo_upstream):
    routes = {"/api/register": "users", "/api/profile": "users"}
    before = requests_counted("/api/register", "POST", 200), durations_counted("/api/register", "POST", 200)
    with override_settings(GATEWAY_UPSTREAMS={"users": echo_upstream.url}, GATEWAY_ROUTES=routes):
        for suffix in ("", "/a", "/b/c?d=e"):
            client.post(f"/api/register{suffix}", data={}, content_type="application/json")

    assert requests_counted("/api/register", "POST", 200) == before[0] + 3
    assert durations_counted("/api/register", "POST", 200) == before[1] + 3
    assert requests_counted("/api/register/a", "POST", 200) == 0.0


def test_the_gateways_own_endpoints_and_unknown_paths_have_labels_of_their_own(client, echo_upstream):
    before_unmatched = requests_counted("unmatched", "GET", 404)
    before_health = requests_counted("health", "GET", 200)
    with override_settings(GATEWAY_UPSTREAMS={"users": echo_upstream.url}, GATEWAY_ROUTES={"/api/profile": "users"}):
        assert client.get("/no/such/route").status_code == 404
        assert client.get("/another/unknown/path").status_code == 404
        assert client.get("/health").status_code == 200

    assert requests_counted("unmatched", "GET", 404) == before_unmatched + 2
    assert requests_counted("health", "GET", 200) == before_health + 1


def test_an_unknown_method_is_counted_as_other(client, echo_upstream):
    before = requests_counted("/api/profile", "other", 501)
    with override_settings(GATEWAY_UPSTREAMS={"users": echo_upstream.url}, GATEWAY_ROUTES={"/api/profile": "users"}):
        # The upstream knows no such method: 501.
        assert client.generic("BREW", "/api/profile").status_code == 501

    assert requests_counted("/api/profile", "other", 501) == before + 1
    assert requests_counted("/api/profile", "BREW", 501) == 0.0


def test_a_request_refused_before_routing_is_counted_under_its_route(client, echo_upstream):
    before = requests_counted("/api/login", "POST", 429)
    with override_settings(
        GATEWAY_UPSTREAMS={"auth": echo_upstream.url},
        GATEWAY_ROUTES={"/api/login": "auth"},
        GATEWAY_RATE_LIMIT_LOGIN_IP="1/m",
    ):
        statuses = [
            client.post("/api/login", data={"email": "a@example.com"}, content_type="application/json").status_code
            for _ in range(2)
        ]

    assert statuses == [200, 429]
    assert requests_counted("/api/login", "POST", 429) == before + 1
