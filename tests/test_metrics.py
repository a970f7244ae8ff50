"""Each service's /metrics after some traffic, and the gateway's public address serving none."""

from __future__ import annotations

import pytest

from accounts import PASSWORD, call, login, new_account
from http_client import raw_request, request
from metrics_support import sample_value, scrape


def gateway_metrics_url(system) -> str:
    return f"http://127.0.0.1:{system.config.gateway_metrics_port}"


def test_every_service_reports_its_metric_families(running_system):
    system, _ = running_system
    expected = {
        "gateway": {"http_requests", "http_request_duration_seconds", "gateway_upstream_errors"},
        "users": {"http_requests", "http_request_duration_seconds", "events_outbox_backlog", "events_parked_messages"},
        "auth": {
            "http_requests",
            "http_request_duration_seconds",
            "auth_login_successes",
            "auth_login_failures",
            "events_outbox_backlog",
            "events_parked_messages",
        },
    }
    new_account(system.gateway_url, "families")
    found = {
        "gateway": scrape(gateway_metrics_url(system)),
        "users": scrape(system.config.url("users")),
        "auth": scrape(system.config.url("auth")),
    }
    for name, families in expected.items():
        assert families <= set(found[name]), (name, families - set(found[name]))
    for service in ("users", "auth"):
        assert sample_value(found[service], "events_outbox_backlog") >= 0
        assert sample_value(found[service], "events_parked_messages") == 0
        assert sample_value(found[service], "events_outbox_oldest_unsent_age_seconds") >= 0
    for upstream in ("users", "auth"):
        url = system.config.url(upstream)
        for kind in ("connect", "busy", "timeout", "protocol", "5xx"):
            labels = {"upstream": upstream, "url": url, "kind": kind}
            assert sample_value(found["gateway"], "gateway_upstream_errors_total", labels) == 0


def test_a_login_failure_and_success_are_counted_where_they_happen(running_system):
    system, _ = running_system
    gateway, users, auth = gateway_metrics_url(system), system.config.url("users"), system.config.url("auth")
    account = new_account(system.gateway_url, "counted")
    refused = {"route": "api/login", "method": "POST", "status": "401"}
    before = {"gateway": scrape(gateway), "auth": scrape(auth), "users": scrape(users)}

    assert login(system.gateway_url, account["email"], "not-the-password")[0] == 401
    assert login(system.gateway_url, account["email"], PASSWORD)[0] == 200
    status, _, _ = call(system.gateway_url, "GET", "/api/profile", token=account["token"])
    assert status == 200
    after = {"gateway": scrape(gateway), "auth": scrape(auth), "users": scrape(users)}

    def delta(service: str, sample: str, labels: dict | None = None) -> float:
        return sample_value(after[service], sample, labels) - sample_value(before[service], sample, labels)

    assert delta("auth", "auth_login_failures_total", {"reason": "wrong_password"}) == 1
    assert delta("auth", "auth_login_failures_total", {"reason": "unknown_email"}) == 0
    assert delta("auth", "auth_login_successes_total") == 1
    assert delta("auth", "http_requests_total", refused) == 1
    assert delta("auth", "http_request_duration_seconds_count", refused) == 1
    assert delta("gateway", "http_requests_total", {**refused, "route": "/api/login"}) == 1
    assert delta("gateway", "http_requests_total", {"route": "/api/profile", "method": "GET", "status": "200"}) == 1
    assert delta("users", "http_requests_total", {"route": "api/profile", "method": "GET", "status": "200"}) == 1
    # Latency is observed: the sum of the durations grew, and by less than the test took.
    grown = delta("gateway", "http_request_duration_seconds_sum", {**refused, "route": "/api/login"})
    assert 0 < grown < 30


def test_every_gunicorn_worker_is_counted_in_one_scrape(running_system):
    system, _ = running_system
    health = {"route": "health", "method": "GET", "status": "200"}
    before = sample_value(scrape(gateway_metrics_url(system)), "http_requests_total", health)

    for _ in range(30):  # new connections each: both gateway workers take some
        assert request(f"{system.gateway_url}/health")[0] == 200

    assert sample_value(scrape(gateway_metrics_url(system)), "http_requests_total", health) == before + 30


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_the_gateways_public_address_serves_no_metrics(running_system, method):
    system, _ = running_system
    status, headers, body = raw_request(f"{system.gateway_url}/metrics", method=method)
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    if method != "HEAD":
        assert body == b'{"error": "Not found"}'


@pytest.mark.parametrize("path", ["/metrics/", "/api/profile/../../metrics", "/static/../metrics", "/admin/../metrics"])
def test_no_path_reaches_a_services_metrics_through_the_gateway(running_system, path):
    system, _ = running_system
    status, _, body = raw_request(f"{system.gateway_url}{path}")
    assert status == 404, body[:200]
    assert b"http_requests_total" not in body
